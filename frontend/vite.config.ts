import { dirname, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig, type Plugin } from "vite";

const frontend = dirname(fileURLToPath(import.meta.url));
const repo = resolve(frontend, "..");

/**
 * The backend files the dashboard may import: the route tables, the contracts' types and the shared
 * wire encoding. None of them imports Node at run time; anything else from the backend fails the build.
 */
const BACKEND_ALLOWED = [
  "server/contracts.ts",
  "lib/routes.ts",
  "lib/wire.ts",
  "lib/errors.ts",
  "lib/health.ts",
  "projects/contract.ts",
  "workspace/contract.ts",
  "vfs/contract.ts",
  "ai/contract.ts",
].map((file) => resolve(repo, file));

function backendContractsOnly(): Plugin {
  return {
    name: "kiln-backend-contracts-only",
    enforce: "pre",
    load(id) {
      const file = id.split("?")[0]!;
      if (!file.startsWith(repo + sep) || file.startsWith(frontend + sep) || file.includes(`${sep}node_modules${sep}`)) return null;
      if (!BACKEND_ALLOWED.includes(file)) {
        throw new Error(`the dashboard imports ${relative(repo, file)}, which is backend code; import only contracts (allowed: ${BACKEND_ALLOWED.map((f) => relative(repo, f)).join(", ")})`);
      }
      return null;
    },
  };
}

/**
 * Every service's path prefix and `/healthz`: what the dev server proxies to Kiln. (Listed here rather
 * than derived, so Vite can load this file natively; a test holds it to server/contracts.ts.)
 */
export const API_PREFIXES = ["/projects", "/templates", "/workspaces", "/vfs", "/generations", "/s", "/healthz"];

const target = process.env.KILN_API_URL ?? "http://127.0.0.1:4000";

export default defineConfig({
  root: frontend,
  plugins: [react(), backendContractsOnly()],
  server: {
    port: 5173,
    strictPort: false,
    // `/projects` must not swallow the SPA's own `/p/...` routes: proxy whole path segments only.
    proxy: Object.fromEntries(API_PREFIXES.map((prefix) => [`^${prefix}(/|$|\\?)`, { target, changeOrigin: false, ws: true }])),
    fs: { strict: true, allow: [frontend, resolve(repo, "node_modules"), ...BACKEND_ALLOWED] },
  },
  build: {
    outDir: resolve(frontend, "dist"),
    emptyOutDir: true,
    sourcemap: true,
    chunkSizeWarningLimit: 1000,
  },
});
