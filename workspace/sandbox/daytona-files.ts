/**
 * Batch reads from a Daytona sandbox. Daytona's bulk download has no size limit and the SDK buffers each
 * file whole in memory, so the sizes and kinds of the paths are asked first (one command per batch of
 * paths): only regular files within the limit are downloaded, in requests of bounded total size. A file
 * that grows between the two requests is still refused after download (its bytes were held meanwhile).
 */
import type { Sandbox } from "@daytonaio/sdk";
import { AppError } from "../../lib/errors";
import { describePath } from "../../lib/paths";
import { messageOf } from "./daytona-errors";
import { bashCommand, parseStatOutput, statScript, type PathKind, type SandboxLayout } from "./daytona-scripts";
import type { FileRead } from "./provider";

/** Paths per size check: one script stays far below the 128 KiB of one command line. */
const MAX_SCRIPT_BYTES = 64 * 1024;
/** Bytes per bulk download request (a file larger than this goes alone). */
const MAX_DOWNLOAD_BYTES = 64 * 1024 * 1024;

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

/** The kind and size of each path (relative to the project), asked in as few commands as fit. */
async function kindsOf(sandbox: Sandbox, layout: SandboxLayout, relative: string[]): Promise<PathKind[]> {
  const kinds: PathKind[] = [];
  for (const chunk of batches(relative, (path) => Buffer.byteLength(path) + 8, MAX_SCRIPT_BYTES)) {
    const answer = await sandbox.process.executeCommand(bashCommand(statScript(chunk)), layout.project, undefined, 600);
    const parsed = answer.exitCode === 0 ? parseStatOutput(answer.result, chunk.length) : undefined;
    if (!parsed) throw new AppError("internal", `Daytona: checking the files to read failed: ${messageOf(answer.result)}`);
    kinds.push(...parsed);
  }
  return kinds;
}

/** Reads `paths` (checked: `relative` is each one normalised) of the project, each at most `maxBytes`. */
export async function readSandboxFiles(sandbox: Sandbox, layout: SandboxLayout, paths: string[], relative: string[], maxBytes: number): Promise<FileRead[]> {
  const kinds = await kindsOf(sandbox, layout, relative);
  const results: FileRead[] = paths.map((path, index) => {
    const kind = kinds[index]!;
    if (kind.kind === "dir") return { path, error: "is_directory" };
    if (kind.kind === "file") return kind.size > maxBytes ? { path, error: "too_large" } : { path, content: Buffer.alloc(0) };
    // Nothing there, or a FIFO or device (a download of it would never end).
    return { path, error: "not_found" };
  });
  const wanted = paths.map((_, index) => index).filter((index) => "content" in results[index]! && (kinds[index] as { size: number }).size > 0);
  for (const batch of batches(wanted, (index) => (kinds[index] as { size: number }).size, MAX_DOWNLOAD_BYTES)) {
    const downloads = await sandbox.fs.downloadFiles(batch.map((index) => ({ source: `${layout.project}/${relative[index]}` })));
    downloads.forEach((download, position) => {
      const index = batch[position]!;
      const path = paths[index]!;
      if (download.result !== undefined && download.error === undefined) {
        const content = Buffer.isBuffer(download.result) ? download.result : Buffer.from(download.result);
        results[index] = content.length > maxBytes ? { path, error: "too_large" } : { path, content };
        return;
      }
      const details = download.errorDetails;
      if (details?.statusCode === 404 || details?.code === "FILE_NOT_FOUND") results[index] = { path, error: "not_found" };
      else if (details?.code === "INVALID_FILE_PATH") results[index] = { path, error: "is_directory" };
      else throw new AppError("unavailable", `Daytona: reading ${describePath(path)} failed: ${messageOf(download.error)}`);
    });
  }
  return results;
}
