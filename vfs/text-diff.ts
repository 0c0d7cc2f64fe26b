import { FILE_HEADERS_ONLY, formatPatch, structuredPatch } from "diff";
import type { FileChange, FileDiff } from "./contract";

/** The largest side a line diff is computed for; larger text gets no line counts and no patch. */
export const MAX_DIFF_BYTES = 1024 * 1024;

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The bytes as text, or null when they are binary (a NUL byte, or not UTF-8). */
function asText(bytes: Buffer): string | null {
  if (bytes.includes(0)) return null;
  try {
    return utf8.decode(bytes);
  } catch {
    return null;
  }
}

/**
 * How a path differs between two versions of its bytes (null: absent on that side): line counts and a
 * unified diff for text, "binary changed" when either side is binary, neither past {@link MAX_DIFF_BYTES}.
 */
export function diffFile(path: string, before: Buffer | null, after: Buffer | null): FileDiff {
  const change: FileChange["change"] = before === null ? "added" : after === null ? "deleted" : "modified";
  if ((before?.length ?? 0) > MAX_DIFF_BYTES || (after?.length ?? 0) > MAX_DIFF_BYTES) {
    return { path, change, linesAdded: null, linesRemoved: null, binary: false, patch: null };
  }
  const oldText = before === null ? "" : asText(before);
  const newText = after === null ? "" : asText(after);
  if (oldText === null || newText === null) return { path, change, linesAdded: null, linesRemoved: null, binary: true, patch: "binary changed" };
  const patch = structuredPatch(before === null ? "/dev/null" : `a/${path}`, after === null ? "/dev/null" : `b/${path}`, oldText, newText, undefined, undefined, { context: 3 });
  const lines = patch.hunks.flatMap((h) => h.lines);
  return {
    path,
    change,
    linesAdded: lines.filter((l) => l.startsWith("+")).length,
    linesRemoved: lines.filter((l) => l.startsWith("-")).length,
    binary: false,
    patch: formatPatch(patch, FILE_HEADERS_ONLY),
  };
}
