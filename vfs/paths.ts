import { invalidArgument } from "../lib/errors";
import { describePath, safeRelativePath } from "../lib/paths";

/** The longest path the vfs stores, in UTF-8 bytes. */
export const MAX_PATH_BYTES = 1024;

/**
 * A file path as the vfs stores it: relative POSIX, normalised. The same checks as every path that
 * reaches a sandbox (lib/paths.ts: absolute paths, `..`, NUL and control characters, backslashes,
 * URL-encoded and look-alike traversal, `~`, names beginning with `-`), plus the vfs's own length limit of 1024 bytes.
 */
export function filePath(field: string, value: unknown): string {
  if (typeof value !== "string") throw invalidArgument(field, value === undefined ? "is required" : "must be a string");
  if (value === "") throw invalidArgument(field, "must not be empty");
  if (Buffer.byteLength(value, "utf8") > MAX_PATH_BYTES) throw invalidArgument(field, `${describePath(value)} is longer than ${MAX_PATH_BYTES} bytes`);
  return safeRelativePath(field, value);
}

/** Whether the vfs can keep a file at `path` ({@link filePath} accepts it): a sandbox can hold names it refuses. */
export function isStorablePath(path: string): boolean {
  try {
    filePath("path", path);
    return true;
  } catch {
    return false;
  }
}

/** A directory: a file path, or the project root when absent or empty (returned as ""). */
export function directoryPath(field: string, value: unknown): string {
  if (value === undefined || value === null || value === "" || value === ".") return "";
  return filePath(field, value);
}

/**
 * The MongoDB condition on `path` for every path strictly under `directory` ("" is the root): a range,
 * so `src` matches `src/a` and never `src2/a` or `src.ts`, and an index on path serves it.
 */
export function underDirectory(directory: string): Record<string, string> | { $exists: true } {
  if (directory === "") return { $exists: true };
  // "0" is the character after "/": every string starting with "dir/" sorts in ["dir/", "dir0").
  return { $gte: `${directory}/`, $lt: `${directory}0` };
}

/** True when `path` is `directory` itself or lies under it. */
export function isWithin(path: string, directory: string): boolean {
  return directory === "" || path === directory || path.startsWith(`${directory}/`);
}

/** Every ancestor directory of a path: `a/b/c` → `a`, `a/b`. */
export function ancestors(path: string): string[] {
  const segments = path.split("/");
  return segments.slice(1).map((_, i) => segments.slice(0, i + 1).join("/"));
}
