import { Pressable, Text, StyleSheet } from "react-native";
import { colour } from "../tokens/colour";

type Props = { label: string; onPress: () => void };

export function Button({ label, onPress }: Props) {
  return (
    <Pressable
      onPress={onPress}
      style={styles.target}
      hitSlop={6}
      accessibilityRole="button"
    >
      <Text style={styles.label}>{label}</Text>
    </Pressable>
  );
}

const styles = StyleSheet.create({
  // Drawn at 32 pt; hitSlop adds 6 pt a side, so the touch target stays 44 pt
  // (ds://canon/accessibility/touch-targets: padding counts).
  target: { minHeight: 32, minWidth: 32, paddingHorizontal: 16, justifyContent: "center" },
  label: { color: colour.textOnPrimary, fontSize: 16 },
});
