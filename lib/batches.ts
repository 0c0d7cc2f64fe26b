/**
 * The one owner of how many file bytes a service-to-service call may carry. Under Encore every internal
 * call is HTTP, and an endpoint takes at most 2 MiB of request body unless it declares `bodyLimit`
 * (notes/encore.md §1); in one standalone process the same call is a function call with no limit. So every
 * call that sends or returns file contents goes through `inBatches` or `readInBatches`: files are grouped by
 * their encoded size under INTERNAL_CALL_BYTES, and a file bigger than that goes alone, to an endpoint that
 * declares FILE_CALL_BODY_LIMIT (workspace and vfs `writeFiles`). `npm run check:encore` (rule
 * `file-payload-batching`) refuses a file-payload call made anywhere else.
 */
import { AppError } from "./errors";
import { ENCORE_DEFAULT_BODY_LIMIT, FILE_CALL_BODY_LIMIT } from "./routes";

export { ENCORE_DEFAULT_BODY_LIMIT, FILE_CALL_BODY_LIMIT };


/** The most encoded file bytes one batch carries: 1.5 MiB, leaving a quarter of the default limit to JSON. */
export const INTERNAL_CALL_BYTES = 1.5 * 1024 * 1024;

/** The most files one batch carries (the vfs takes 1,000 per write, the workspace 5,000). */
export const INTERNAL_CALL_FILES = 1000;


/** Room for a file's JSON around its content: quotes, field names, mode, error. */
const PER_FILE_OVERHEAD = 128;

/** How long `bytes` bytes are in base64. */
export function base64Length(bytes: number): number {
  return 4 * Math.ceil(bytes / 3);
}

/** A file as it travels: its path and content, already base64. */
export interface FilePayload {
  path: string;
  contentBase64: string;
}

/** A file to read, with its size as a listing gave it. */
export interface SizedPath {
  path: string;
  size: number;
}

function encodedBytes(path: string, contentChars: number): number {
  return Buffer.byteLength(JSON.stringify(path)) + contentChars + PER_FILE_OVERHEAD;
}

/**
 * Splits items into batches whose encoded sizes add up to at most `budget` (and of at most
 * INTERNAL_CALL_FILES items), in order. An item bigger than the budget goes alone; one too big even for
 * FILE_CALL_BODY_LIMIT is refused before anything is sent.
 */
export function batchBySize<T>(items: readonly T[], sizeOf: (item: T) => number, describe: (item: T) => string, budget = INTERNAL_CALL_BYTES): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let used = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (size > FILE_CALL_BODY_LIMIT) {
      throw new AppError("resource_exhausted", `${describe(item)} is ${size} bytes encoded, over the ${FILE_CALL_BODY_LIMIT}-byte limit of one internal call`, { limitBytes: FILE_CALL_BODY_LIMIT });
    }
    if (current.length > 0 && (used + size > budget || current.length === INTERNAL_CALL_FILES)) {
      batches.push(current);
      current = [];
      used = 0;
    }
    current.push(item);
    used += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** Sends files in batches under the internal-call limit, one call after another; the results in order. */
export async function inBatches<F extends FilePayload, R>(files: readonly F[], send: (batch: F[]) => Promise<R>, budget = INTERNAL_CALL_BYTES): Promise<R[]> {
  const results: R[] = [];
  for (const batch of batchBySize(files, (f) => encodedBytes(f.path, f.contentBase64.length), (f) => JSON.stringify(f.path), budget)) {
    results.push(await send(batch));
  }
  return results;
}

/**
 * Reads files in batches whose answers stay under the internal-call limit (sizes from a listing, so each
 * answer's base64 is known in advance), yielding each batch's files in the order asked, so a caller can
 * store one batch before it reads the next.
 */
export async function* readInBatches<R>(files: readonly SizedPath[], read: (paths: string[]) => Promise<R[]>, budget = INTERNAL_CALL_BYTES): AsyncGenerator<R[]> {
  for (const batch of batchBySize(files, (f) => encodedBytes(f.path, base64Length(f.size)), (f) => JSON.stringify(f.path), budget)) {
    yield await read(batch.map((f) => f.path));
  }
}

/** Reads one file of unknown size alone: the answer holds that file only, at most the vfs's largest. */
export async function readAlone<R>(path: string, read: (paths: string[]) => Promise<R[]>): Promise<R | undefined> {
  return (await read([path]))[0];
}
