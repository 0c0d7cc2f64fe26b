import { invalidArgument } from "../lib/errors";

/** The longest path the vfs stores, in UTF-8 bytes. */
export const MAX_PATH_BYTES = 1024;

// C0 controls, DEL and C1 controls (NUL included): never part of a file name we keep.
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * A file path as the vfs stores it: relative POSIX, normalised (no `.` segments, no empty segments,
 * no trailing `/`). Refuses absolute paths, `..`, backslashes, NUL and other control characters, the
 * empty path and paths over 1024 bytes, with an `invalid_argument` naming the field and the path.
 */
export function filePath(field: string, value: unknown): string {
  if (typeof value !== "string") throw invalidArgument(field, value === undefined ? "is required" : "must be a string");
  const refuse = (problem: string) => invalidArgument(field, `${JSON.stringify(value)} ${problem}`);
  if (value === "") throw invalidArgument(field, "must not be empty");
  if (Buffer.byteLength(value, "utf8") > MAX_PATH_BYTES) throw refuse(`is longer than ${MAX_PATH_BYTES} bytes`);
  if (value.includes("\0")) throw refuse("contains a NUL byte");
  if (CONTROL_CHARS.test(value)) throw refuse("contains a control character");
  if (value.includes("\\")) throw refuse("contains a backslash (use / between directories)");
  if (value.startsWith("/")) throw refuse("is absolute (give a path relative to the project root)");
  const segments = value.split("/").filter((segment) => segment !== "" && segment !== ".");
  if (segments.includes("..")) throw refuse("contains a .. segment");
  if (segments.length === 0) throw refuse("names no file");
  return segments.join("/");
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
