/**
 * Batch reads from a Daytona sandbox. Daytona's downloads have no size limit and the SDK's bulk download
 * buffers each file whole in memory, so the sizes and kinds of the paths are asked first (one command per
 * batch of paths), and the same command returns the bytes of the small files, up to a budget per command
 * (each round trip to Daytona costs tens of milliseconds: 300 small files are a few commands, not 300
 * downloads). The other regular files within the limit are downloaded: each as a stream with a byte
 * counter, a few at a time, so one that grew past the limit since it was measured (the sandbox runs
 * hostile code) is cut off there rather than held whole.
 */
import type { Readable } from "node:stream";
import { DaytonaError, type Sandbox } from "@daytonaio/sdk";
import { AppError } from "../../lib/errors";
import { describePath } from "../../lib/paths";
import { messageOf } from "./daytona-errors";
import { archiveReadScript, parseArchiveRead } from "./daytona-batch-read";
import { bashCommand, parseStatOutput, statScript, type PathKind, type SandboxLayout } from "./daytona-scripts";
import type { FileRead } from "./provider";

/** Paths per size check: one script stays far below the 128 KiB of one command line. */
const MAX_SCRIPT_BYTES = 64 * 1024;
/** The largest file the size check returns itself (larger ones are downloaded as a stream). */
export const INLINE_FILE_BYTES = 256 * 1024;
/** File bytes one size check returns at most (Daytona buffers a command's output whole; base64 adds a third). */
const INLINE_BYTES_PER_COMMAND = 1024 * 1024;
/** Downloads at once for one read (each file is a request of its own). */
const DOWNLOADS_AT_ONCE = 8;
/** How long one file's download may take. */
const DOWNLOAD_TIMEOUT_SECONDS = 10 * 60;

/** Splits `items` into runs whose summed weight stays within `limit` (an item heavier than it goes alone). */
function batches<T>(items: T[], weight: (item: T) => number, limit: number): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let sum = 0;
  for (const item of items) {
    const w = weight(item);
    if (current.length > 0 && sum + w > limit) {
      out.push(current);
      current = [];
      sum = 0;
    }
    current.push(item);
    sum += w;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/**
 * The kind and size of each path (relative to the project), and the bytes of the small files among those
 * of at most `maxBytes`, asked in as few commands as fit: as one archive per chunk, or, where that
 * fails (no tar, a file changing meanwhile), with a script that reads the files one by one.
 */
async function kindsOf(sandbox: Sandbox, layout: SandboxLayout, relative: string[], maxBytes: number): Promise<PathKind[]> {
  const kinds: PathKind[] = [];
  const inline = Math.min(maxBytes, INLINE_FILE_BYTES);
  for (const chunk of batches(relative, (path) => Buffer.byteLength(path) + 8, MAX_SCRIPT_BYTES)) {
    const archived = await sandbox.process.executeCommand(bashCommand(archiveReadScript(chunk, inline, INLINE_BYTES_PER_COMMAND)), layout.project, undefined, 600);
    const read = archived.exitCode === 0 ? parseArchiveRead(archived.result, chunk) : undefined;
    if (read) {
      kinds.push(...read);
      continue;
    }
    const answer = await sandbox.process.executeCommand(bashCommand(statScript(chunk, inline, INLINE_BYTES_PER_COMMAND)), layout.project, undefined, 600);
    const parsed = answer.exitCode === 0 ? parseStatOutput(answer.result, chunk.length) : undefined;
    if (!parsed) throw new AppError("internal", `Daytona: checking the files to read failed: ${messageOf(answer.result)}`);
    kinds.push(...parsed);
  }
  return kinds;
}

/**
 * One file's bytes, counted as they arrive: `too_large` (and the download aborted) the moment they pass
 * `maxBytes`; Daytona's own answer for a path that is missing or a directory becomes that error.
 */
export async function downloadBounded(sandbox: Sandbox, source: string, path: string, maxBytes: number): Promise<FileRead> {
  const abort = new AbortController();
  let stream: Readable;
  try {
    stream = await sandbox.fs.downloadFileStream(source, { signal: abort.signal, timeout: DOWNLOAD_TIMEOUT_SECONDS });
    // The multipart parser may still report an error after the end, or after the abort: nobody listens then.
    stream.on("error", () => undefined);
  } catch (err) {
    const code = err instanceof DaytonaError ? err.code : undefined;
    if (code === "FILE_NOT_FOUND") return { path, error: "not_found" };
    if (code === "INVALID_FILE_PATH") return { path, error: "is_directory" };
    throw err;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer | string>) {
      const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      size += bytes.length;
      if (size > maxBytes) return { path, error: "too_large" };
      chunks.push(bytes);
    }
  } catch (err) {
    throw new AppError("unavailable", `Daytona: reading ${describePath(path)} failed: ${messageOf(err)}`);
  } finally {
    abort.abort();
    stream.destroy();
  }
  return { path, content: Buffer.concat(chunks, size) };
}

/** Reads `paths` (checked: `relative` is each one normalised) of the project, each at most `maxBytes`. */
export async function readSandboxFiles(sandbox: Sandbox, layout: SandboxLayout, paths: string[], relative: string[], maxBytes: number): Promise<FileRead[]> {
  const kinds = await kindsOf(sandbox, layout, relative, maxBytes);
  const results: FileRead[] = paths.map((path, index) => {
    const kind = kinds[index]!;
    if (kind.kind === "dir") return { path, error: "is_directory" };
    if (kind.kind === "file" && kind.content) return { path, content: kind.content };
    if (kind.kind === "file") return kind.size > maxBytes ? { path, error: "too_large" } : { path, content: Buffer.alloc(0) };
    // Nothing there, or a FIFO or device (a download of it would never end).
    return { path, error: "not_found" };
  });
  const wanted = paths.map((_, index) => index).filter((index) => {
    const kind = kinds[index]!;
    return "content" in results[index]! && kind.kind === "file" && !kind.content && kind.size > 0;
  });
  let next = 0;
  const worker = async () => {
    for (let index = wanted[next++]; index !== undefined; index = wanted[next++]) {
      results[index] = await downloadBounded(sandbox, `${layout.project}/${relative[index]}`, paths[index]!, maxBytes);
    }
  };
  await Promise.all(Array.from({ length: Math.min(DOWNLOADS_AT_ONCE, wanted.length) }, worker));
  return results;
}
