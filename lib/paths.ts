/**
 * The path rules every service shares: the one gate a project path goes through before any file system,
 * sandbox or command sees it, how error messages name a path, and shell quoting.
 */
import { invalidArgument } from "./errors";
import { LONE_SURROGATE } from "./unicode";

/** Longest path accepted, in UTF-8 bytes (Linux PATH_MAX). */
const MAX_PATH_BYTES = 4096;
/** Longest single path segment accepted, in UTF-8 bytes (Linux NAME_MAX). */
const MAX_SEGMENT_BYTES = 255;

/** Options of {@link safeRelativePath}. */
export interface SafePathOptions {
  /** Accept `""` and `"."` as the project root itself (returned as `""`). */
  allowRoot?: boolean;
}

/** C0 and C1 control characters, DEL. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
/** Invisible formatting characters used to disguise names: zero-width, bidi overrides, BOM (a regex class body). */
const INVISIBLE_CLASS = "\\u200b-\\u200f\\u202a-\\u202e\\u2060-\\u2064\\u2066-\\u2069\\ufeff";
const INVISIBLE = new RegExp(`[${INVISIBLE_CLASS}]`);
/** Characters that look like `.`, `/` or `\` without NFKC folding them to it. */
const LOOK_ALIKES = new Set(["\u2215", "\u2044", "\u29f8", "\u29f9", "\u2216", "\u2571", "\u2572", "\u3002", "\uff61"]);
/** A Windows drive prefix such as `C:`. */
const DRIVE = /^[A-Za-z]:/;

/** Characters JSON leaves as they are that would hide in a message or a log line. */
const UNPRINTABLE = new RegExp(`[\\u007f-\\u009f${INVISIBLE_CLASS}]`, "g");

/**
 * A path as error messages name it: JSON-quoted, DEL, C1 and invisible characters escaped as `\uXXXX`,
 * a long path cut at 200 characters.
 */
export function describePath(path: string): string {
  const quoted = JSON.stringify(path.length > 200 ? `${path.slice(0, 200)}…` : path);
  return quoted.replace(UNPRINTABLE, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** A look-alike of `.`, `/` or `\` in `path`, or undefined. */
function lookAlikeIn(path: string): string | undefined {
  for (const ch of path) {
    if (ch.charCodeAt(0) < 0x80) continue;
    if (LOOK_ALIKES.has(ch) || /[./\\]/.test(ch.normalize("NFKC"))) return ch;
  }
  return undefined;
}

/** `path` percent-decoded until it stops changing (at most three rounds), or undefined when it is not encoded. */
function percentDecoded(path: string): string | undefined {
  if (!path.includes("%")) return undefined;
  let current = path;
  for (let round = 0; round < 3; round++) {
    let next: string;
    try {
      next = decodeURIComponent(current);
    } catch {
      break;
    }
    if (next === current) break;
    current = next;
  }
  return current === path ? undefined : current;
}

/** Why a name beginning with `-` is refused. */
const READ_AS_OPTION = "which commands would read as an option";

/** What is wrong with the shape of `path` (before splitting it), or undefined. */
function shapeProblem(path: string): string | undefined {
  if (path.includes("\0")) return "contains a NUL byte";
  if (CONTROL.test(path)) return "contains a control character";
  if (INVISIBLE.test(path)) return "contains an invisible formatting character";
  if (LONE_SURROGATE.test(path)) return "is not valid Unicode";
  if (path.includes("\\")) return "contains a backslash; use / between segments";
  if (path.startsWith("/")) return "is absolute; paths are relative to the project root";
  if (DRIVE.test(path)) return "looks like a Windows drive path";
  if (path.startsWith("~")) return "starts with ~ (a home directory shortcut)";
  const segments = path.split("/");
  if (segments.includes("..")) return "contains a .. segment";
  if (path.startsWith("-")) return `begins with -, ${READ_AS_OPTION}`;
  if (segments.some((segment) => segment.startsWith("-"))) return `has a segment that begins with -, ${READ_AS_OPTION}`;
  return undefined;
}

/**
 * The one gate every project path goes through (the sandbox, the vfs, the agent's tools): `path` as a normalised POSIX path relative to the project
 * root (no leading `./`, no trailing or doubled `/`, `""` for the root itself when `allowRoot` is set).
 * Throws `invalid_argument` on `field`, naming the path, for: empty paths (unless `allowRoot`), absolute
 * paths and drive prefixes, any `..` segment, NUL bytes, control and invisible characters, backslashes,
 * `~` home shortcuts, any segment beginning with `-` (a command would read it as an option), percent-encodings
 * that decode to any of those, Unicode look-alikes of `.` `/` `\`, paths over 4096 bytes and segments over
 * 255 bytes, and anything that is not a string.
 */
export function safeRelativePath(field: string, path: unknown, options: SafePathOptions = {}): string {
  if (typeof path !== "string") throw invalidArgument(field, "must be a string path");
  const refuse = (problem: string) => invalidArgument(field, `path ${describePath(path)} ${problem}`);
  if (Buffer.byteLength(path) > MAX_PATH_BYTES) throw refuse(`is longer than ${MAX_PATH_BYTES} bytes`);
  const problem = shapeProblem(path);
  if (problem) throw refuse(problem);
  const decoded = percentDecoded(path);
  const decodedProblem = decoded === undefined ? undefined : shapeProblem(decoded);
  if (decodedProblem) throw refuse(`is percent-encoded and decodes to a path that ${decodedProblem}`);
  const lookAlike = lookAlikeIn(path);
  if (lookAlike) throw refuse(`contains ${JSON.stringify(lookAlike)}, a look-alike of . / or \\`);
  const segments = path.split("/").filter((segment) => segment !== "" && segment !== ".");
  const long = segments.find((segment) => Buffer.byteLength(segment) > MAX_SEGMENT_BYTES);
  if (long !== undefined) throw refuse(`has a segment longer than ${MAX_SEGMENT_BYTES} bytes`);
  const normalised = segments.join("/");
  if (normalised === "" && !options.allowRoot) throw refuse("names the project root; a file or directory path is needed");
  return normalised;
}

/**
 * `arg` as one single-quoted shell word (`'` written as `'\''`), for the rare places a command string
 * must be built; prefer argv arrays. Throws `invalid_argument` for a NUL byte, which no shell word holds.
 */
export function shellQuote(arg: string): string {
  if (arg.includes("\0")) throw invalidArgument("argument", "a shell argument cannot contain a NUL byte");
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}
