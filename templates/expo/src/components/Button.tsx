import { Pressable, StyleSheet, Text } from "react-native";
import { colors, radius, spacing } from "../theme";

/** The app's primary button: a labelled, accessible Pressable. */
export function Button({ label, onPress }: { label: string; onPress: () => void }) {
  return (
    <Pressable
      accessibilityRole="button"
      onPress={onPress}
      style={({ pressed }) => [styles.button, pressed && styles.pressed]}
    >
      <Text style={styles.label}>{label}</Text>
    </Pressable>
  );
}

const styles = StyleSheet.create({
  button: { alignSelf: "flex-start", backgroundColor: colors.primary, borderRadius: radius.md, paddingVertical: spacing.sm + 4, paddingHorizontal: spacing.lg },
  pressed: { backgroundColor: colors.primaryPressed },
  label: { color: colors.onPrimary, fontSize: 16, fontWeight: "600" },
});
