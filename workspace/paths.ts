import { lstat, readlink, realpath } from "node:fs/promises";
import { dirname, isAbsolute, join, relative as relativeTo, sep } from "node:path";
import { invalidArgument } from "../lib/errors";
import { describePath, safeRelativePath } from "../lib/paths";

/** Symlinks followed while resolving one path before giving up (the kernel's limit). */
const MAX_SYMLINK_HOPS = 40;

/** Whether `candidate` is `root` or lies below it (both absolute, symlink-free). */
function isWithin(root: string, candidate: string): boolean {
  return candidate === root || candidate.startsWith(root.endsWith(sep) ? root : root + sep);
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === "ENOENT" || code === "ENOTDIR";
}

/** Options of {@link resolveInside}. */
export interface ResolveOptions {
  /** The request field the path came from, named in errors (`path` by default). */
  field?: string;
  /**
   * Follow a symlink in the last segment (true by default, for reads). False resolves the entry itself:
   * writing, deleting or renaming `link` acts on the link, never on what it points to.
   */
  followLast?: boolean;
}

/**
 * The real host path of `relative` (checked by {@link safeRelativePath}) below `root`: every symlink on
 * the way is followed as the kernel would (dangling ones included), the missing tail of the path kept as
 * written. Throws `invalid_argument`, naming the path, when it resolves outside `root` or loops.
 */
export async function resolveInside(root: string, relative: string, options: ResolveOptions = {}): Promise<string> {
  const { field = "path", followLast = true } = options;
  const normalised = safeRelativePath(field, relative, { allowRoot: true });
  const realRoot = await realpath(root);
  const pending = normalised === "" ? [] : normalised.split("/");
  let current = realRoot;
  let hops = 0;
  while (pending.length > 0) {
    const segment = pending.shift() as string;
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      current = dirname(current);
      continue;
    }
    const next = join(current, segment);
    let stats;
    try {
      stats = await lstat(next);
    } catch (err) {
      if (!isMissing(err)) throw err;
      current = join(next, ...pending);
      break;
    }
    if (!stats.isSymbolicLink() || (pending.length === 0 && !followLast)) {
      current = next;
      continue;
    }
    if (++hops > MAX_SYMLINK_HOPS) throw invalidArgument(field, `path ${describePath(relative)} goes through a symlink loop`);
    const target = await readlink(next);
    if (isAbsolute(target)) current = "/";
    pending.unshift(...target.split("/"));
  }
  if (!isWithin(realRoot, current)) {
    throw invalidArgument(field, `path ${describePath(relative)} resolves through a symlink to outside the project root`);
  }
  return current;
}

/** `absolute` (below `root`) as a POSIX path relative to `root`, `""` for the root itself. */
export function relativePosix(root: string, absolute: string): string {
  return relativeTo(root, absolute).split(sep).join("/");
}
