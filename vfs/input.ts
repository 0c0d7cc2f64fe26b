import { invalidArgument } from "../lib/errors";
import { optionalText, requireText } from "../lib/validate";
import type { ChangeLabel } from "./contract";
import { filePath } from "./paths";
import type { NewFile } from "./store";

/** The limits of what one request may store. */
export interface VfsLimits {
  /** The largest file, in bytes (default 10 MiB). */
  maxFileBytes: number;
  /** The most files in one write (default 1000). */
  maxBatchFiles: number;
}

/** The default limits. */
export const DEFAULT_LIMITS: VfsLimits = { maxFileBytes: 10 * 1024 * 1024, maxBatchFiles: 1000 };

/** Unix permission bits: rw-r--r--. */
export const DEFAULT_MODE = 0o644;

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function describeBytes(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB (${bytes} bytes)` : `${bytes} bytes`;
}

/** An integer field from `min` to `max`; undefined stays undefined. */
export function optionalInteger(field: string, value: unknown, min: number, max: number): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw invalidArgument(field, `must be an integer from ${min} to ${max}`);
  }
  return value;
}

/** A project id as given in a request. */
export function projectIdOf(value: unknown): string {
  return requireText("projectId", value, { min: 1, max: 100 });
}

/** A snapshot id as given in a request. */
export function snapshotIdOf(field: string, value: unknown): string {
  return requireText(field, value, { min: 1, max: 100 });
}

/** The job and turn a change is labelled with. */
export function changeLabel(req: { jobId?: unknown; turn?: unknown }): ChangeLabel {
  const jobId = optionalText("jobId", req.jobId, 100);
  const turn = optionalInteger("turn", req.turn, 0, 1_000_000);
  return { ...(jobId ? { jobId } : {}), ...(turn === undefined ? {} : { turn }) };
}

/** A list of paths (files or directories), each validated, at least one. */
export function pathList(field: string, value: unknown, max: number): string[] {
  const items = typeof value === "string" ? [value] : value;
  if (!Array.isArray(items) || items.length === 0) throw invalidArgument(field, "must list at least one path");
  if (items.length > max) throw invalidArgument(field, `must list at most ${max} paths, got ${items.length}`);
  return items.map((item, i) => filePath(`${field}[${i}]`, item));
}

/** Decodes one file of a write, refusing bad paths, bad base64, bad modes and oversize content. */
function decodeUpload(field: string, value: unknown, limits: VfsLimits): NewFile {
  if (typeof value !== "object" || value === null) throw invalidArgument(field, "must be an object with path and contentBase64");
  const { path: rawPath, contentBase64, mode } = value as Record<string, unknown>;
  const path = filePath(`${field}.path`, rawPath);
  if (typeof contentBase64 !== "string") throw invalidArgument(`${field}.contentBase64`, "must be a base64 string");
  if (contentBase64.length % 4 !== 0 || !BASE64.test(contentBase64)) throw invalidArgument(`${field}.contentBase64`, `of ${JSON.stringify(path)} is not valid base64`);
  const size = (contentBase64.length / 4) * 3 - (contentBase64.endsWith("==") ? 2 : contentBase64.endsWith("=") ? 1 : 0);
  if (size > limits.maxFileBytes) {
    throw invalidArgument(`${field}.contentBase64`, `${JSON.stringify(path)} is ${size} bytes, over the limit of ${describeBytes(limits.maxFileBytes)} per file`);
  }
  return { path, bytes: Buffer.from(contentBase64, "base64"), mode: optionalInteger(`${field}.mode`, mode, 0, 0o7777) ?? DEFAULT_MODE };
}

/** Decodes the files of a write: 1 to `maxBatchFiles`, each path at most once. */
export function decodeUploads(value: unknown, limits: VfsLimits): NewFile[] {
  if (!Array.isArray(value) || value.length === 0) throw invalidArgument("files", "must list at least one file");
  if (value.length > limits.maxBatchFiles) throw invalidArgument("files", `must list at most ${limits.maxBatchFiles} files, got ${value.length}`);
  const files = value.map((item, i) => decodeUpload(`files[${i}]`, item, limits));
  const seen = new Set<string>();
  files.forEach((file, i) => {
    if (seen.has(file.path)) throw invalidArgument(`files[${i}].path`, `${JSON.stringify(file.path)} appears more than once`);
    seen.add(file.path);
  });
  return files;
}
