// The app's root: replace the starting screen with the app. Screens and components go in src/.
import { StatusBar } from "expo-status-bar";
import { StyleSheet, Text, View } from "react-native";
import { SafeAreaProvider, SafeAreaView } from "react-native-safe-area-context";
import { Button } from "./src/components/Button";
import { colors, spacing } from "./src/theme";

export default function App() {
  return (
    <SafeAreaProvider>
      <SafeAreaView style={styles.screen}>
        <View style={styles.content}>
          <Text accessibilityRole="header" style={styles.title}>
            Your app starts here
          </Text>
          <Text style={styles.body}>Describe what you want to build, and this screen becomes it.</Text>
          <Button label="Get started" onPress={() => undefined} />
        </View>
        <StatusBar style="dark" />
      </SafeAreaView>
    </SafeAreaProvider>
  );
}

const styles = StyleSheet.create({
  screen: { flex: 1, backgroundColor: colors.background },
  content: { flex: 1, justifyContent: "center", gap: spacing.md, padding: spacing.lg, width: "100%", maxWidth: 560, alignSelf: "center" },
  title: { fontSize: 32, fontWeight: "700", color: colors.text },
  body: { fontSize: 17, lineHeight: 24, color: colors.muted },
});
