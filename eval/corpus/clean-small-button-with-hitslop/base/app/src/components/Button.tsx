import { Pressable, Text, StyleSheet } from "react-native";
import { colour } from "../tokens/colour";

type Props = { label: string; onPress: () => void };

export function Button({ label, onPress }: Props) {
  return (
    <Pressable onPress={onPress} style={styles.target} accessibilityRole="button">
      <Text style={styles.label}>{label}</Text>
    </Pressable>
  );
}

const styles = StyleSheet.create({
  // The touch target: ds://canon/accessibility/touch-targets.
  target: { minHeight: 44, minWidth: 44, paddingHorizontal: 16, justifyContent: "center" },
  label: { color: colour.textOnPrimary, fontSize: 16 },
});
