/**
 * `npm run build` (run by `npm start` and `npm run worker` first): the standalone server and the worker
 * as plain JavaScript in dist/, so they run on Node alone. Run through tsx's loader instead, the server
 * process held about 130 MB more (the loader, the source maps of every transformed module) and compiled
 * each module on its first use, in the middle of a generation.
 *
 * Packages stay in node_modules (imported as they are); Kiln's own modules are bundled, each dynamic
 * import of one (the Daytona provider) its own chunk, loaded only when used. Chunk names carry a hash of
 * their content and nothing in dist/ is deleted: a server started earlier from the same checkout still
 * finds the chunks it has yet to load after another process rebuilt. A file is replaced whole (written
 * aside, then renamed) and only when its content changed, so a process starting while another builds
 * never reads half a file.
 */
import { build } from "esbuild";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { ROOT } from "../lib/root";

/** The programs `npm start` and `npm run worker` run, by the name of their file in dist/. */
export const PROGRAMS = { main: "server/main.ts", worker: "server/worker.ts" } as const;

/** Where `npm run build` writes (inside Kiln's root, which the built code finds by walking up). */
export const DIST = join(ROOT, "dist");

/**
 * Bundles `entries` (name in `outdir` → source path relative to the root) into `outdir`, with source
 * maps for `node --enable-source-maps`; returns the built path of each entry.
 */
export async function buildPrograms(entries: Record<string, string> = PROGRAMS, outdir = DIST): Promise<Record<string, string>> {
  if (relative(ROOT, outdir).startsWith("..")) throw new Error(`the build must stay inside ${ROOT} (its code finds Kiln's files from there), not ${outdir}`);
  const { outputFiles } = await build({
    absWorkingDir: ROOT,
    write: false,
    entryPoints: Object.fromEntries(Object.entries(entries).map(([name, source]) => [name, join(ROOT, source)])),
    outdir,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    packages: "external",
    sourcemap: true,
    entryNames: "[name]",
    chunkNames: "chunks/[name]-[hash]",
    logLevel: "warning",
  });
  for (const file of outputFiles) {
    const current = await readFile(file.path).catch(() => null);
    if (current?.equals(file.contents)) continue;
    await mkdir(dirname(file.path), { recursive: true });
    const aside = `${file.path}.${randomBytes(4).toString("hex")}.partial`;
    await writeFile(aside, file.contents);
    await rename(aside, file.path);
  }
  return Object.fromEntries(Object.keys(entries).map((name) => [name, join(outdir, `${name}.js`)]));
}

/**
 * The Node flags `npm start` runs the built server with, read from package.json (their one owner), for
 * whatever must run the server as `npm start` does (the load benchmarks).
 */
export function startFlags(): string[] {
  const { scripts } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };
  const words = scripts.start?.split(/\s+/) ?? [];
  if (words[0] !== "node" || words.at(-1) !== "dist/main.js") throw new Error(`package.json's start script is not \`node [flags] dist/main.js\`: ${scripts.start}`);
  return words.slice(1, -1);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const built = await buildPrograms();
  process.stdout.write(`built ${Object.values(built).map((path) => relative(ROOT, path)).join(", ")} (${relative(ROOT, dirname(built.main!))}/)\n`);
}
