import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The `name` in Kiln's own package.json: how the root is told from any other folder with a package.json. */
const PACKAGE_NAME = "kiln";

/**
 * The folder Kiln's files live in (package.json, the services' migrations, the templates, the sandbox
 * toolbox, the dashboard's build), found by walking up from this module. The same answer whether this
 * module runs from its source (tsx, vitest) or inlined into a bundle (`npm run build`'s dist/, Encore's
 * build folder), where a path relative to the module would point into the bundle's folder.
 */
export function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, "utf8")) as { name?: string }).name === PACKAGE_NAME) return dir;
    if (dir === dirname(dir)) throw new Error(`no package.json named "${PACKAGE_NAME}" in ${from} or any folder above it: Kiln's files are not where its code runs`);
  }
}

/** Kiln's root folder (see {@link findRoot}). */
export const ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));

/** A path inside Kiln's root folder. */
export const rootPath = (...segments: string[]): string => join(ROOT, ...segments);
