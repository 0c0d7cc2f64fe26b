import { createHash } from "node:crypto";
import { chmodSync, chownSync, existsSync, lstatSync, readdirSync, readFileSync, statSync } from "node:fs";
import { cp, mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import type { Browser } from "playwright-core";
import { shellQuote } from "../../lib/paths";

/**
 * The uid the check's browser runs as when Kiln runs as root: unprivileged, owning nothing of Kiln's,
 * and below the range of sandbox uids (workspace/sandbox/boundary.ts starts at 200,000).
 */
export const BROWSER_UID = 199_999;

/**
 * Flags for a browser that loads untrusted pages and must reach nothing but them: no background
 * traffic to Google's services, no QUIC or WebRTC UDP (which request routing cannot see), no DNS
 * prefetch, and a capped JavaScript heap so a page allocating without end crashes its renderer
 * instead of the machine. Playwright adds --headless itself.
 */
const HARDENED_ARGS = [
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-default-apps",
  "--disable-extensions",
  "--disable-sync",
  "--disable-quic",
  "--dns-prefetch-disable",
  "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
  "--js-flags=--max-old-space-size=512",
  "--no-first-run",
];

/**
 * Launches Chromium: the binary at `path` when given (CHROMIUM_PATH, e.g. /usr/bin/chromium), else the
 * headless Chromium shipped inside the npm package @sparticuz/chromium, so a machine needs nothing but
 * Node. Chromium's own sandbox is on (its renderers run in namespaces with seccomp); as root, where
 * Chromium refuses it, the browser runs as the unprivileged BROWSER_UID instead, with the sandbox on.
 * A missing browser or one that fails to start throws with what to do. `downloads` gives the browser a
 * folder of its own to save downloads in (the self-check accepts none; the dashboard's tests do).
 */
export async function launchChromium(path: string | undefined = process.env.CHROMIUM_PATH || undefined, options: { downloads?: boolean } = {}): Promise<Browser> {
  if (path !== undefined && !existsSync(path)) {
    throw new Error(`CHROMIUM_PATH=${path} does not exist: point it at a Chromium binary, or unset it to use the one from npm (@sparticuz/chromium)`);
  }
  const binary = path ?? (await bundledChromium());
  const asRoot = process.getuid?.() === 0;
  const executablePath = asRoot ? await asUnprivileged(binary) : binary;
  let downloadsPath: string | undefined;
  if (options.downloads) {
    downloadsPath = await mkdtemp(join(tmpdir(), "kiln-browser-downloads-"));
    if (asRoot) chownSync(downloadsPath, BROWSER_UID, BROWSER_UID);
  }
  try {
    // Loaded at the first launch: Playwright costs a process about 85 MB of memory once imported.
    const { chromium } = await import("playwright-core");
    return await chromium.launch({ executablePath, args: HARDENED_ARGS, chromiumSandbox: true, downloadsPath });
  } catch (error) {
    const from = path === undefined ? "from @sparticuz/chromium (CHROMIUM_PATH is unset)" : `at CHROMIUM_PATH=${path}`;
    throw new Error(`Chromium ${from} did not start: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/**
 * A launcher that runs `binary` as BROWSER_UID (root keeps nothing but the pipe Playwright drives it
 * through): it hands the profile folder Playwright made for this launch to that uid, then drops every
 * privilege with setpriv. It lives in a folder of the temp dir that root owns and only root may write
 * (checked on every use, since anyone may create names there), shared by Kiln's processes.
 */
let launcher: Promise<string> | undefined;
function asUnprivileged(installed: string): Promise<string> {
  launcher ??= (async () => {
    openToBrowserUser(installed);
    if (!searchableByOthers(tmpdir())) {
      throw new Error(`the temp dir ${tmpdir()} is not searchable by others: the check's browser runs as uid ${BROWSER_UID} and keeps its profile there (chmod o+x it, or point TMPDIR elsewhere)`);
    }
    const home = join(tmpdir(), `kiln-browser-${BROWSER_UID}`);
    await mkdir(home, { mode: 0o711 }).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "EEXIST") throw err;
    });
    rootsAlone(home);
    const binary = reachableByBrowser(installed) ? installed : await copiedInto(home, installed);
    const profiles = `${tmpdir()}/playwright_chromiumdev_profile-`;
    const script = [
      "#!/bin/sh",
      "set -eu",
      'for arg in "$@"; do',
      '  case "$arg" in',
      `    --user-data-dir=${profiles.replace(/[^\w/.-]/g, "?")}*) dir="\${arg#--user-data-dir=}"; chown -R ${BROWSER_UID}:${BROWSER_UID} -- "$dir"; export HOME="$dir" TMPDIR="$dir" ;;`,
      "  esac",
      "done",
      `exec setpriv --reuid=${BROWSER_UID} --regid=${BROWSER_UID} --clear-groups --inh-caps=-all -- ${shellQuote(binary)} "$@"`,
      "",
    ].join("\n");
    const path = join(home, `launch-${createHash("sha256").update(script).digest("hex").slice(0, 16)}.sh`);
    if (!existsSync(path)) {
      const staging = `${path}.${process.pid}.partial`;
      await writeFile(staging, script, { mode: 0o700 });
      await rename(staging, path);
    }
    rootsAlone(path);
    return path;
  })();
  return launcher.catch((err: unknown) => {
    launcher = undefined;
    throw err;
  });
}

/** Refuses a path in the shared temp dir that someone other than root owns or may write. */
function rootsAlone(path: string): void {
  const { uid, mode } = lstatSync(path);
  if (uid !== 0 || (mode & 0o022) !== 0 || (mode & 0o170000) === 0o120000) {
    throw new Error(`${path} is not root's alone (owner ${uid}, mode ${(mode & 0o7777).toString(8)}): remove it; the check's browser will not run from it`);
  }
}

/** Whether another user can walk into `dir`: it and every folder above it searchable by others. */
function searchableByOthers(dir: string): boolean {
  for (let current = dir; ; current = dirname(current)) {
    if ((statSync(current).mode & 0o001) === 0) return false;
    if (current === dirname(current)) return true;
  }
}

/** Whether BROWSER_UID can reach and run `binary`. */
function reachableByBrowser(binary: string): boolean {
  return searchableByOthers(dirname(binary)) && (statSync(binary).mode & 0o005) === 0o005;
}

/**
 * The browser's folder copied (once per version, whole, by rename) into `home`: for a checkout under
 * a private folder (such as /root) that the browser's uid cannot reach.
 */
async function copiedInto(home: string, binary: string): Promise<string> {
  const target = join(home, basename(dirname(binary)));
  if (!existsSync(join(target, "chromium"))) {
    const staging = await mkdtemp(`${target}.partial-`);
    try {
      await cp(dirname(binary), staging, { recursive: true });
      openToBrowserUser(join(staging, "chromium"), true);
      await rename(staging, target).catch((err: unknown) => {
        if (!existsSync(join(target, "chromium"))) throw err;
      });
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }
  rootsAlone(target);
  rootsAlone(join(target, "chromium"));
  return join(target, "chromium");
}

/** The browser's folder and files, readable and executable by BROWSER_UID (its unpacking makes them root's alone). */
function openToBrowserUser(binary: string, always = false): void {
  const dir = dirname(binary);
  if (!always && !dir.includes("sparticuz-chromium-")) return;
  const open = (path: string) => {
    const mode = statSync(path).mode;
    chmodSync(path, mode & 0o040000 ? 0o755 : mode & 0o100 ? 0o755 : 0o644);
    if (mode & 0o040000) for (const entry of readdirSync(path)) open(join(path, entry));
  };
  open(dir);
}

/**
 * The path of @sparticuz/chromium's binary, unpacked once per package version into
 * node_modules/.cache (the package ships it brotli-compressed and unpacks it locally; nothing is
 * downloaded). Its own cache, /tmp/chromium, is unsafe: several processes would exec the binary while
 * another is still writing it (ETXTBSY), a process killed mid-write leaves a truncated binary for good,
 * and another version's binary there would be used silently. So each process unpacks into a fresh
 * folder and renames it into place whole; the first rename wins.
 */
async function bundledChromium(): Promise<string> {
  const packageDir = packageRoot(createRequire(import.meta.url).resolve("@sparticuz/chromium"));
  const packageJson = join(packageDir, "package.json");
  const { version } = JSON.parse(readFileSync(packageJson, "utf8")) as { version: string };
  const cacheDir = join(packageDir, "..", "..", ".cache");
  const target = join(cacheDir, `sparticuz-chromium-${version}`);
  if (existsSync(join(target, "chromium"))) return join(target, "chromium");

  await mkdir(cacheDir, { recursive: true });
  const staging = await mkdtemp(`${target}.partial-`);
  try {
    const sparticuz = (await import("@sparticuz/chromium")).default;
    // The package unpacks into os.tmpdir(), which it reads synchronously when called: point TMPDIR
    // at the staging folder for that call only.
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
      throw new Error(`@sparticuz/chromium ${version} unpacked to ${unpacked}, not into ${staging}: its unpacking changed; update bundledChromium in ai/checks/chromium.ts`);
    }
    try {
      await rename(staging, target);
    } catch (error) {
      // Another process renamed its copy into place first: use that one.
      if (!existsSync(join(target, "chromium"))) throw error;
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return join(target, "chromium");
}

/** The folder of the package a resolved entry file belongs to (the package exports no package.json). */
function packageRoot(entry: string): string {
  for (let dir = dirname(entry); dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json")) && dirname(dir).endsWith("@sparticuz")) return dir;
  }
  throw new Error(`@sparticuz/chromium resolved to ${entry}, outside any package folder`);
}
