import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rename, rm } from "node:fs/promises";
import { createServer, connect, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import sparticuz from "@sparticuz/chromium";
import { chromium, type Browser, type Page } from "playwright-core";

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

/**
 * Launches the Chromium the browser tests drive: the system Chromium at `CHROMIUM_PATH` when that is
 * set (e.g. `CHROMIUM_PATH=/usr/bin/chromium`), else the headless Chromium shipped inside the npm
 * package @sparticuz/chromium (a devDependency), so `npm ci && npm test` needs nothing but Node.
 * A missing browser or one that fails to start throws with what to do: never a silent skip.
 */
export async function launchChromium(): Promise<Browser> {
  const system = process.env.CHROMIUM_PATH || undefined;
  if (system !== undefined && !existsSync(system)) {
    throw new Error(`CHROMIUM_PATH=${system} does not exist: point it at a Chromium binary, or unset it to use the one from npm (@sparticuz/chromium)`);
  }
  const executablePath = system ?? (await bundledChromium());
  try {
    return await chromium.launch({
      executablePath,
      // Playwright adds --headless itself. The network flags (Playwright passes most of them too) are
      // kept explicit: with no outside network Chromium otherwise keeps trying to reach Google's services.
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"],
    });
  } catch (error) {
    const from = system === undefined ? "from @sparticuz/chromium (CHROMIUM_PATH is unset)" : `at CHROMIUM_PATH=${system}`;
    throw new Error(`Chromium ${from} did not start: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/**
 * The path of @sparticuz/chromium's binary, unpacked once per package version into
 * node_modules/.cache (the package ships it brotli-compressed and unpacks it locally; nothing is
 * downloaded). Its own cache, /tmp/chromium, is unsafe here: test files run in parallel processes and
 * one would exec the binary while another is still writing it (ETXTBSY), a run killed mid-write leaves
 * a truncated binary for good, and another version's binary there would be used silently. So each
 * process unpacks into a fresh folder and renames it into place whole; the first rename wins.
 */
async function bundledChromium(): Promise<string> {
  const packageDir = join(ROOT, "node_modules", "@sparticuz", "chromium");
  const { version } = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8")) as { version: string };
  const cacheDir = join(ROOT, "node_modules", ".cache");
  const target = join(cacheDir, `sparticuz-chromium-${version}`);
  if (existsSync(join(target, "chromium"))) return join(target, "chromium");

  await mkdir(cacheDir, { recursive: true });
  const staging = await mkdtemp(`${target}.partial-`);
  try {
    // The package unpacks into os.tmpdir(), which it reads synchronously when called: point TMPDIR
    // at the staging folder for that call only, so nothing else in this process sees the change.
    const savedTmpdir = process.env.TMPDIR;
    process.env.TMPDIR = staging;
    let unpacking: Promise<string>;
    try {
      unpacking = sparticuz.executablePath(join(packageDir, "bin"));
    } finally {
      if (savedTmpdir === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = savedTmpdir;
    }
    const unpacked = await unpacking;
    if (unpacked !== join(staging, "chromium") || !existsSync(unpacked)) {
      throw new Error(`@sparticuz/chromium ${version} unpacked to ${unpacked}, not into ${staging}: its unpacking changed; update bundledChromium in test/e2e/browser.ts`);
    }
    try {
      await rename(staging, target);
    } catch (error) {
      // Another test process renamed its copy into place first: use that one.
      if (!existsSync(join(target, "chromium"))) throw error;
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return join(target, "chromium");
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
