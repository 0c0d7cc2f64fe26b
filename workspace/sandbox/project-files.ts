import { createHash, randomBytes } from "node:crypto";
import { constants, type Stats } from "node:fs";
import { chmod, lstat, mkdir, open, readdir, realpath, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { AppError, invalidArgument } from "../../lib/errors";
import { describePath, safeRelativePath } from "../../lib/paths";
import { relativePosix, resolveInside } from "../paths";
import { mapConcurrent } from "./concurrency";
import { IGNORED_DIRECTORIES, type FileEntry, type FileRead, type FileWrite, type ListFilesOptions } from "./provider";

/** File operations in flight at once within one batch. */
const IO_CONCURRENCY = 16;
/** Opening never follows a last-moment symlink and never blocks on a FIFO. */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** A file system failure on `path` as the AppError a caller can act on; an AppError or anything unexpected as it is. */
function fsFailure(field: string, path: string, err: unknown): unknown {
  const problem = (text: string) => `${field}: path ${describePath(path)} ${text}`;
  switch ((err as NodeJS.ErrnoException).code) {
    case "ENOENT":
      return new AppError("not_found", problem("does not exist"), { field });
    case "EISDIR":
      return invalidArgument(field, `path ${describePath(path)} is a directory`);
    case "ENOTDIR":
    case "EEXIST":
      return invalidArgument(field, `path ${describePath(path)} has a file where a directory is expected`);
    case "EINVAL":
      return invalidArgument(field, `path ${describePath(path)} cannot be moved into itself`);
    case "ELOOP":
      return invalidArgument(field, `path ${describePath(path)} became a symlink while in use`);
    case "ENOTEMPTY":
      return new AppError("already_exists", problem("is a directory that is not empty"), { field });
    case "EACCES":
    case "EPERM":
      return new AppError("permission_denied", problem("is not accessible"), { field });
    case "ENOSPC":
    case "EDQUOT":
      return new AppError("resource_exhausted", problem("cannot be written: the disk is full"), { field });
    default:
      return err;
  }
}

/** `fn()`, its file system failures on `path` turned into AppErrors. */
async function onPath<T>(field: string, path: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw fsFailure(field, path, err);
  }
}

/** The host path of the entry `path` names (never the project root): its parent resolved inside, a symlink in its last segment not followed. */
async function entryTarget(projectDir: string, path: string, field: string): Promise<string> {
  safeRelativePath(field, path);
  return resolveInside(projectDir, path, { field, followLast: false });
}

/** Checks a batch of writes before anything is written: paths, no path twice, bytes, permission bits. */
export function checkWrites(files: FileWrite[]): Array<FileWrite & { field: string; mode: number }> {
  if (!Array.isArray(files)) throw invalidArgument("files", "must be an array");
  const seen = new Set<string>();
  return files.map((file, index) => {
    const field = `files[${index}].path`;
    const normalised = safeRelativePath(field, file.path);
    if (seen.has(normalised)) throw invalidArgument(field, `path ${describePath(file.path)} appears twice in one batch`);
    seen.add(normalised);
    if (!(file.content instanceof Uint8Array)) throw invalidArgument(`files[${index}].content`, "must be bytes (a Buffer)");
    const mode = file.mode ?? 0o644;
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o777) throw invalidArgument(`files[${index}].mode`, "must be permission bits from 0 to 0o777");
    return { ...file, field, mode };
  });
}

/**
 * Writes a batch of files below `projectDir`, creating parent directories. Every path is checked and
 * resolved before the first byte is written; each file is written to a temporary name and renamed into
 * place, so a reader never sees half a file and a symlink in its place is replaced, not followed.
 */
export async function writeProjectFiles(projectDir: string, files: FileWrite[]): Promise<void> {
  const checked = checkWrites(files);
  const targets = await Promise.all(checked.map((file) => entryTarget(projectDir, file.path, file.field)));
  await mapConcurrent(checked, IO_CONCURRENCY, (file, index) =>
    onPath(file.field, file.path, async () => {
      const target = targets[index];
      await mkdir(dirname(target), { recursive: true });
      const temporary = join(dirname(target), `.kiln-write-${randomBytes(6).toString("hex")}`);
      try {
        await writeFile(temporary, file.content, { mode: file.mode, flag: "wx" });
        await chmod(temporary, file.mode);
        await rename(temporary, target);
      } catch (err) {
        await rm(temporary, { force: true });
        throw err;
      }
    }),
  );
}

/** Reads one resolved file: its bytes, or why not. */
async function readOne(path: string, field: string, target: string, maxBytes: number): Promise<FileRead> {
  const handle = await open(target, OPEN_FLAGS).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT" || err.code === "ENOTDIR") return undefined;
    throw fsFailure(field, path, err);
  });
  if (!handle) return { path, error: "not_found" };
  try {
    const stats = await handle.stat();
    if (stats.isDirectory()) return { path, error: "is_directory" };
    if (!stats.isFile()) return { path, error: "not_found" };
    if (stats.size > maxBytes) return { path, error: "too_large" };
    return { path, content: await handle.readFile() };
  } finally {
    await handle.close();
  }
}

/**
 * Reads a batch of files below `projectDir` (symlinks followed only while they stay inside), each result
 * under the path as given; files over `maxBytes` are reported `too_large`, FIFOs and sockets `not_found`.
 */
export async function readProjectFiles(projectDir: string, paths: string[], maxBytes: number): Promise<FileRead[]> {
  if (!Array.isArray(paths)) throw invalidArgument("paths", "must be an array");
  const fields = paths.map((_, index) => `paths[${index}]`);
  paths.forEach((path, index) => safeRelativePath(fields[index], path));
  const targets = await Promise.all(paths.map((path, index) => resolveInside(projectDir, path, { field: fields[index] })));
  return mapConcurrent(paths, IO_CONCURRENCY, (path, index) => readOne(path, fields[index], targets[index], maxBytes));
}

/** The hex sha256 of a file, read as a stream. */
async function sha256Of(path: string): Promise<string> {
  const handle = await open(path, OPEN_FLAGS);
  const hash = createHash("sha256");
  for await (const chunk of handle.createReadStream()) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

function entryOf(root: string, path: string, stats: Stats): FileEntry {
  const isDir = stats.isDirectory();
  return { path: relativePosix(root, path), size: isDir ? 0 : stats.size, isDir, mode: stats.mode & 0o777 };
}

/** Appends the entries of `dir` (and below, when `recursive`) to `into`: regular files and directories, no symlinks, no ignored directories. */
async function walk(root: string, dir: string, recursive: boolean, into: FileEntry[]): Promise<void> {
  const children = (await readdir(dir, { withFileTypes: true })).filter(
    (child) => child.isFile() || (child.isDirectory() && !IGNORED_DIRECTORIES.has(child.name)),
  );
  const stats = await mapConcurrent(children, IO_CONCURRENCY, (child) => lstat(join(dir, child.name)).catch(() => undefined));
  for (const [index, child] of children.entries()) {
    const found = stats[index];
    if (!found) continue;
    const full = join(dir, child.name);
    into.push(entryOf(root, full, found));
    if (recursive && found.isDirectory()) await walk(root, full, true, into);
  }
}

/**
 * Lists a directory below `projectDir` (the root by default), or the one file a path names, sorted by
 * path; `node_modules`, `.git`, `dist`, `build`, `.next` and `.cache` are skipped by exact name at any depth,
 * symlinks are not listed, and file hashes are streamed when asked for.
 */
export async function listProjectFiles(projectDir: string, options: ListFilesOptions): Promise<FileEntry[]> {
  const path = options.path ?? "";
  const root = await realpath(projectDir);
  const base = await resolveInside(root, path);
  const stats = await onPath("path", path, () => lstat(base));
  const entries: FileEntry[] = [];
  if (stats.isDirectory()) await walk(root, base, options.recursive ?? false, entries);
  else if (stats.isFile()) entries.push(entryOf(root, base, stats));
  entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  if (options.hashes) {
    await mapConcurrent(entries.filter((entry) => !entry.isDir), IO_CONCURRENCY, async (entry) => {
      entry.sha256 = await sha256Of(join(root, entry.path));
    });
  }
  return entries;
}

/** Removes files and directories (recursively) below `projectDir`; a symlink is removed, not what it points to; a missing path is fine. */
export async function deleteProjectPaths(projectDir: string, paths: string[]): Promise<void> {
  if (!Array.isArray(paths)) throw invalidArgument("paths", "must be an array");
  const targets = await Promise.all(paths.map((path, index) => entryTarget(projectDir, path, `paths[${index}]`)));
  await mapConcurrent(targets, IO_CONCURRENCY, (target, index) =>
    onPath(`paths[${index}]`, paths[index], () => rm(target, { recursive: true, force: true })),
  );
}

/** Moves a file or directory below `projectDir`, creating the parents of `to`; an existing file at `to` is replaced. */
export async function renameProjectPath(projectDir: string, from: string, to: string): Promise<void> {
  const [source, destination] = await Promise.all([entryTarget(projectDir, from, "from"), entryTarget(projectDir, to, "to")]);
  await onPath("from", from, () => lstat(source));
  await onPath("to", to, async () => {
    await mkdir(dirname(destination), { recursive: true });
    await rename(source, destination);
  });
}
