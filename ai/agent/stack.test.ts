import { describe, expect, it } from "vitest";
import { detectStack } from "./stack";

describe("detectStack", () => {
  it("recognises a Vite app installed with pnpm", () => {
    const pkg = JSON.stringify({ scripts: { dev: "vite" }, devDependencies: { vite: "^8" }, dependencies: { react: "^19" } });
    expect(detectStack(["package.json", "pnpm-lock.yaml", "index.html"], pkg)).toEqual({
      packageManager: "pnpm",
      framework: "vite",
      installCommand: "pnpm install",
      devCommand: "pnpm run dev",
      port: 5173,
    });
  });

  it("takes an explicit port from the dev script over the framework's default", () => {
    const pkg = JSON.stringify({ scripts: { dev: "next dev -p 3100" }, dependencies: { next: "16" } });
    expect(detectStack(["package.json"], pkg)).toMatchObject({ framework: "next", devCommand: "npm run dev", port: 3100 });
  });

  it("falls back to npm start for a plain node server", () => {
    const pkg = JSON.stringify({ scripts: { start: "node server.js" } });
    expect(detectStack(["package.json", "server.js"], pkg)).toMatchObject({ framework: "node", devCommand: "npm start", port: null });
  });

  it("serves a static site without package.json", () => {
    expect(detectStack(["index.html", "style.css"], null)).toMatchObject({ framework: "static", devCommand: 'python3 -m http.server "$PORT" --bind 0.0.0.0' });
    expect(detectStack(["notes.txt"], null)).toMatchObject({ framework: "unknown", devCommand: null });
  });

  it("survives a broken package.json", () => {
    expect(detectStack(["package.json"], "{ not json")).toMatchObject({ framework: "unknown", devCommand: null });
  });
});
