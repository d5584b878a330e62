// Colour tokens. Contrast pairs are checked against ds://canon/accessibility/contrast.
export const colour = {
  primary: "#1f4fd1",
  textOnPrimary: "#ffffff", // 7.0:1 on primary
  surface: "#ffffff",
  text: "#1b1b1f", // 16.8:1 on surface
  textMuted: "#5c5f66", // 6.3:1 on surface
};
