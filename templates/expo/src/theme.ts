// Design tokens: use these instead of raw values so the app keeps one look.
export const colors = {
  background: "#ffffff",
  surface: "#f8fafc",
  border: "#e2e8f0",
  text: "#0f172a",
  muted: "#475569",
  primary: "#4f46e5",
  primaryPressed: "#4338ca",
  onPrimary: "#ffffff",
};

export const spacing = { xs: 4, sm: 8, md: 16, lg: 24, xl: 32 };

export const radius = { sm: 6, md: 10, lg: 16 };
