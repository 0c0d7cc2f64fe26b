import { spawnSync } from "node:child_process";
import { createServer, connect, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser, Page } from "playwright-core";
import { launchChromium as launch } from "../../ai/checks/chromium";

/** The Chromium the browser tests drive: the self-check's (CHROMIUM_PATH, else @sparticuz/chromium), with downloads. */
export function launchChromium(): Promise<Browser> {
  return launch(undefined, { downloads: true });
}

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const RESULTS_DIR = join(ROOT, "test-results", "e2e");

/** Builds the dashboard into frontend/dist (what the standalone server serves at `/`). */
export function buildFrontend(): void {
  const vite = join(ROOT, "node_modules", ".bin", "vite");
  const result = spawnSync(vite, ["build", "--config", "frontend/vite.config.ts", "--logLevel", "warn"], {
    cwd: ROOT,
    encoding: "utf8",
    // Vitest sets NODE_ENV=test, which would make Vite bundle React's development build.
    env: { ...process.env, NODE_ENV: "production" },
  });
  if (result.status !== 0) throw new Error(`vite build failed:\n${result.stdout}\n${result.stderr}`);
}

/** Console errors and uncaught exceptions of a page, each tagged with what the test was doing. */
export function watchConsole(page: Page): { errors: { phase: string; text: string }[]; phase: { current: string } } {
  const errors: { phase: string; text: string }[] = [];
  const phase = { current: "start" };
  page.on("console", (message) => {
    if (message.type() === "error") errors.push({ phase: phase.current, text: message.text() });
  });
  page.on("pageerror", (error) => errors.push({ phase: phase.current, text: `uncaught: ${error.message}` }));
  // The console says only "Failed to load resource"; keep which request it was.
  page.on("response", (response) => {
    if (response.status() >= 400) errors.push({ phase: phase.current, text: `HTTP ${response.status()} ${response.request().method()} ${response.url()}` });
  });
  return { errors, phase };
}

/**
 * A TCP proxy in front of the server whose connections can all be cut at once: a real network drop
 * as the browser sees it (reset sockets mid-stream), not an emulation.
 */
export async function startDropProxy(target: string): Promise<{ url: string; dropAll(): void; close(): Promise<void> }> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(port), hostname);
    sockets.add(client);
    sockets.add(upstream);
    const cleanup = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("error", cleanup).on("close", cleanup);
    upstream.on("error", cleanup).on("close", cleanup);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    dropAll() {
      for (const socket of sockets) socket.resetAndDestroy();
    },
    close: () =>
      new Promise<void>((done) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => done());
      }),
  };
}
