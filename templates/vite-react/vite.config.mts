import tailwindcss from "@tailwindcss/vite";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// Kiln starts `npm run dev` with PORT set and shows the preview under its own host names, so the
// server listens on every interface, on exactly that port, and accepts any Host header. Hot reload
// goes over the same port. Leave the `server` block as it is.
export default defineConfig({
  plugins: [react(), tailwindcss()],
  server: {
    host: "0.0.0.0",
    port: Number(process.env.PORT) || 5173,
    strictPort: true,
    allowedHosts: true,
  },
});
