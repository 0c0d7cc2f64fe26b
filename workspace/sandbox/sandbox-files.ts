import { AppError, invalidArgument } from "../../lib/errors";
import { describePath, safeRelativePath } from "../../lib/paths";
import type { FileEntry, FileRead, FileWrite, ListFilesOptions, ReadFailure } from "./provider";
import { ToolboxOpError, type Toolbox } from "./toolbox-client";

const READ_FAILURES: ReadonlySet<string> = new Set<ReadFailure>(["not_found", "is_directory", "too_large"]);

/** A toolbox's failure on the path of `field` as the AppError a caller can act on; anything else as it is. */
export function fileFailure(field: string, path: string, err: unknown): unknown {
  if (!(err instanceof ToolboxOpError)) return err;
  const named = `path ${describePath(path)}`;
  const problem = (text: string) => `${field}: ${named} ${text}`;
  switch (err.code) {
    case "EINVALPATH":
      return invalidArgument(field, `${named} is not a path inside the project`);
    case "EESCAPE":
      return invalidArgument(field, `${named} resolves through a symlink to outside the project root`);
    case "ENOENT":
      return new AppError("not_found", problem("does not exist"), { field });
    case "EISDIR":
      return invalidArgument(field, `${named} is a directory`);
    case "ENOTDIR":
    case "EEXIST":
      return invalidArgument(field, `${named} has a file where a directory is expected`);
    case "EINVAL":
      return invalidArgument(field, `${named} cannot be moved into itself`);
    case "ELOOP":
      return invalidArgument(field, `${named} goes through a symlink loop or became a symlink while in use`);
    case "ENOTEMPTY":
      return new AppError("already_exists", problem("is a directory that is not empty"), { field });
    case "EACCES":
    case "EPERM":
    case "EROFS":
      return new AppError("permission_denied", problem("is not writable or not accessible in the sandbox"), { field });
    case "ENOSPC":
    case "EDQUOT":
    case "EFBIG":
      return new AppError("resource_exhausted", problem("cannot be written: the sandbox's disk or file size limit is reached"), { field });
    case "E2BIG":
      return new AppError("resource_exhausted", problem("holds more than 200000 entries; list a directory below it"), { field });
    case "ENAMETOOLONG":
      return invalidArgument(field, `${named} is too long`);
    default:
      return new AppError("internal", problem(`failed in the sandbox (${err.code.replace(/[^A-Z0-9_]/g, "").slice(0, 20)})`), { field });
  }
}

/** Runs a toolbox call whose failures concern `items[index]`, named as `fieldOf(index)`. */
async function onItems<T>(items: string[], fieldOf: (index: number) => string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const index = err instanceof ToolboxOpError && err.index < items.length ? err.index : 0;
    throw fileFailure(fieldOf(index), items[index] ?? "", err);
  }
}

function checkList(field: string, value: unknown): string[] {
  if (!Array.isArray(value)) throw invalidArgument(field, "must be an array");
  return value.map((path, index) => safeRelativePath(`${field}[${index}]`, path));
}

/** Checks a batch of writes before anything is written: paths (returned normalised, with the field naming each), no path twice, bytes, permission bits. */
export function checkWrites(files: FileWrite[]): Array<{ path: string; field: string; content: Buffer; mode: number }> {
  if (!Array.isArray(files)) throw invalidArgument("files", "must be an array");
  const seen = new Set<string>();
  return files.map((file, index) => {
    const field = `files[${index}].path`;
    const path = safeRelativePath(field, file?.path);
    if (seen.has(path)) throw invalidArgument(field, `path ${describePath(file.path)} appears twice in one batch`);
    seen.add(path);
    if (!(file.content instanceof Uint8Array)) throw invalidArgument(`files[${index}].content`, "must be bytes (a Buffer)");
    const mode = file.mode ?? 0o644;
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o777) throw invalidArgument(`files[${index}].mode`, "must be permission bits from 0 to 0o777");
    return { path, field, content: Buffer.from(file.content.buffer, file.content.byteOffset, file.content.byteLength), mode };
  });
}

/**
 * A sandbox's files, through its toolbox: every path checked here (lib/paths.ts) before the request
 * leaves, every answer checked before it is believed. Writes are atomic per file (temporary name, then
 * rename), so a reader never sees half a file and a symlink in a file's place is replaced, not followed.
 */
export class SandboxFiles {
  constructor(
    private readonly toolbox: Toolbox,
    private readonly maxReadBytes: number,
  ) {}

  async write(files: FileWrite[]): Promise<void> {
    const checked = checkWrites(files);
    const body = Buffer.concat(checked.map((file) => file.content));
    const header = { files: checked.map((file) => ({ path: file.path, mode: file.mode, size: file.content.length })) };
    await onItems(files.map((file) => file.path), (index) => `files[${index}].path`, () => this.toolbox.call("write", header, body));
  }

  async read(paths: string[]): Promise<FileRead[]> {
    const checked = checkList("paths", paths);
    const reply = await onItems(paths, (index) => `paths[${index}]`, () => this.toolbox.call("read", { paths: checked, maxBytes: this.maxReadBytes }));
    const files = reply.header.files;
    if (!Array.isArray(files) || files.length !== paths.length) throw new AppError("internal", "the sandbox's toolbox answered a read with the wrong number of files");
    let offset = 0;
    return files.map((file: { size?: unknown; error?: unknown }, index): FileRead => {
      const path = paths[index]!;
      if (typeof file?.error === "string" && READ_FAILURES.has(file.error)) return { path, error: file.error as ReadFailure };
      const size = file?.size;
      if (typeof size !== "number" || !Number.isInteger(size) || size < 0 || size > this.maxReadBytes || offset + size > reply.body.length) {
        throw new AppError("internal", "the sandbox's toolbox answered a read with a malformed file");
      }
      const content = reply.body.subarray(offset, offset + size);
      offset += size;
      return { path, content };
    });
  }

  async list(options: ListFilesOptions): Promise<FileEntry[]> {
    const path = safeRelativePath("path", options.path ?? "", { allowRoot: true });
    const request = { path, recursive: options.recursive ?? false, hashes: options.hashes ?? false };
    const reply = await onItems([options.path ?? ""], () => "path", () => this.toolbox.call("list", request));
    const entries = reply.header.entries;
    if (!Array.isArray(entries)) throw new AppError("internal", "the sandbox's toolbox answered a listing without entries");
    return entries.map((entry: Partial<FileEntry>) => {
      if (typeof entry?.path !== "string" || typeof entry.size !== "number" || typeof entry.isDir !== "boolean") {
        throw new AppError("internal", "the sandbox's toolbox answered a listing with a malformed entry");
      }
      const listed: FileEntry = { path: entry.path, size: entry.size, isDir: entry.isDir };
      if (typeof entry.mode === "number") listed.mode = entry.mode;
      if (typeof entry.sha256 === "string" && /^[0-9a-f]{64}$/.test(entry.sha256)) listed.sha256 = entry.sha256;
      return listed;
    });
  }

  async delete(paths: string[]): Promise<void> {
    const checked = checkList("paths", paths);
    await onItems(paths, (index) => `paths[${index}]`, () => this.toolbox.call("delete", { paths: checked }));
  }

  async rename(from: string, to: string): Promise<void> {
    const request = { from: safeRelativePath("from", from), to: safeRelativePath("to", to) };
    await onItems([from, to], (index) => (index === 0 ? "from" : "to"), () => this.toolbox.call("rename", request));
  }
}
