/**
 * The shell scripts the Daytona provider runs inside a sandbox (through `process.executeCommand` or a
 * session), and the parsers of what they print. Every caller-supplied string reaches a script through
 * {@link shellQuote}, every path after `safeRelativePath`; paths are relative to the project directory
 * (the scripts' working directory) and always written `./<path>`, so none reads as an option. The
 * absolute places (project, bookkeeping) come from the sandbox's own home ({@link layoutOf}). The scripts
 * need bash and GNU tools (Debian, Ubuntu, the `node:*` images); {@link preflightScript} says what is missing.
 */
import { AppError } from "../../lib/errors";
import { shellQuote } from "../../lib/paths";
import { OutputCap } from "./output-cap";
import { IGNORED_DIRECTORIES, type FileEntry } from "./provider";

/** Where a sandbox keeps a project and Kiln's bookkeeping, all below its user's home. */
export interface SandboxLayout {
  /** The sandbox user's home, as the daemon reports it (root's for `node:*` images). */
  home: string;
  /** The project root: every relative path maps below it. */
  project: string;
  /** Pid files of background processes, outside the project. */
  stateDir: string;
}

/** The layout of a sandbox whose user's home is `home` (an untrusted answer: checked to be a plain absolute path). */
export function layoutOf(home: unknown): SandboxLayout {
  const text = typeof home === "string" ? home.replace(/\/+$/, "") : "";
  if (!/^\/[^\0\n\r]{0,1023}$/.test(text) || text.split("/").some((part) => part === "." || part === "..") || text.includes("//")) {
    throw new AppError("internal", `Daytona reported a home directory Kiln cannot use: ${JSON.stringify(String(home)).slice(0, 200)}`);
  }
  return { home: text, project: `${text}/project`, stateDir: `${text}/.kiln/procs` };
}

/** What the scripts need that an image may lack, each with a check that fails without it. */
const NEEDS: Array<[name: string, check: string]> = [
  ["GNU find (-printf)", "find / -maxdepth 0 -printf ''"],
  ["GNU sha256sum (-z)", "printf '' | sha256sum -z"],
  ["GNU mv (-T)", 't=$(mktemp -d) && : > "$t/a" && mv -fT -- "$t/a" "$t/b"; r=$?; rm -rf "$t"; [ "$r" = 0 ]'],
  ["util-linux setsid (-w)", "setsid -w true"],
  ["GNU date (+%N)", 'case "$(date +%s%N)" in ""|*[!0-9]*) false;; esac'],
  ["GNU base64 (-w0)", "printf '' | base64 -w0"],
  ["mkfifo, tee, head -c, tail -c, wc", "command -v mkfifo && command -v tee && head -c 1 /dev/null && tail -c 1 /dev/null && command -v wc"],
];
const PREFLIGHT_MARKER = "KILN-PREFLIGHT";

/** Checks, in one command, that the image has what the scripts need; prints the marker and the index of each missing need. */
export function preflightScript(): string {
  return [
    "m=",
    ...NEEDS.map(([, check], index) => `{ ${check}; } >/dev/null 2>&1 || m="$m ${index}"`),
    `printf '%s%s\\n' ${PREFLIGHT_MARKER} "$m"`,
  ].join("\n");
}

/** What {@link preflightScript} found missing (an empty list: nothing); bash itself missing shows as its marker missing. */
export function parsePreflight(output: string): string[] {
  const line = output.split("\n").find((text) => text.startsWith(PREFLIGHT_MARKER));
  if (line === undefined) return ["bash"];
  return line.slice(PREFLIGHT_MARKER.length).trim().split(" ").filter(Boolean).map((index) => NEEDS[Number(index)]?.[0] ?? `check ${index}`);
}

/** Exit codes the scripts use to say what went wrong. */
export const EXIT = { notFound: 44, badCwd: 45 } as const;

/** A normalised relative path (`""`: the project root) as one shell word that cannot read as an option. */
export function pathWord(relative: string): string {
  return shellQuote(relative === "" ? "." : `./${relative}`);
}

/** A script as the command of `executeCommand`: one bash invocation, whatever shell the daemon uses. */
export function bashCommand(script: string): string {
  return `bash -c ${shellQuote(script)}`;
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(3);
}

/** Kills the process group whose id is in `pidFile` (a shell word): SIGTERM, then SIGKILL after `graceMs`. */
function killGroup(pidFile: string, graceMs: number): string {
  const rounds = Math.max(1, Math.ceil(graceMs / 100));
  // The pid too: a process that has not reached its setsid yet is not a group leader.
  return [
    `p=$(cat ${pidFile} 2>/dev/null) || exit 0`,
    'kill -TERM -- -"$p" "$p" 2>/dev/null',
    `i=0; while { kill -0 -- -"$p" || kill -0 "$p"; } 2>/dev/null && [ "$i" -lt ${rounds} ]; do sleep 0.1; i=$((i+1)); done`,
    'kill -KILL -- -"$p" "$p" 2>/dev/null; exit 0',
  ].join("\n");
}

/** What an exec script is asked to do. */
export interface ExecScriptSpec {
  /** A random token: names the run's temporary directory and marks its result. */
  execId: string;
  command: string;
  /** Relative to the project directory (`""`: the root). */
  cwd: string;
  timeoutMs: number;
  graceMs: number;
  maxOutputBytes: number;
}

const execDir = (execId: string) => `/tmp/kiln-exec-${execId}`;

/** The head and tail sizes of {@link OutputCap.even} for `limit`. */
function capSplit(limit: number): [head: number, tail: number] {
  const head = Math.ceil(limit / 2);
  return [head, limit - head];
}

/**
 * Runs a command to completion inside the sandbox: `bash -lc <command>` in its own session (so its whole
 * process group can be killed), stdout and stderr captured to files (and both, interleaved, to a third),
 * killed on timeout (SIGTERM, SIGKILL after the grace period) by a watchdog, whatever it left running
 * killed when it ends. Then it prints one marker line (exit status, timed out, cancelled, duration) and,
 * for each capture, its size and its head and tail in base64: the cap is applied in the sandbox, so a
 * command printing gigabytes sends back at most three times `maxOutputBytes`.
 */
export function execScript(spec: ExecScriptSpec): string {
  const dir = shellQuote(execDir(spec.execId));
  const [head, tail] = capSplit(spec.maxOutputBytes);
  return [
    `k=${dir}`,
    'mkdir -p "$k" || exit 97',
    // The wrapper cleans up by itself at each way out, never with an EXIT trap: a child it forked (the
    // command's, before it reaches setsid) that a cancel kills would run the trap too, and take the cancel
    // mark and the captures with it (bash keeps the trap in a forked child until it execs).
    `cd -- ${pathWord(spec.cwd)} 2>/dev/null && [ -d . ] || { rm -rf "$k"; printf '%s\\n' ${shellQuote(`KILN-${spec.execId} nocwd`)}; exit 0; }`,
    'mkfifo "$k/po" "$k/pe" || { rm -rf "$k"; exit 97; }',
    // The wrapper holds both ends of each FIFO until the command is over, so no open of one ever blocks
    // (a command killed before it opened its ends would otherwise leave a tee waiting for a partner).
    'exec 5<>"$k/po" 6<>"$k/pe"',
    'tee -a "$k/c" < "$k/po" > "$k/o" 5>&- 6>&- & t1=$!',
    'tee -a "$k/c" < "$k/pe" > "$k/e" 5>&- 6>&- & t2=$!',
    "s=$(date +%s%N)",
    `setsid bash -lc ${shellQuote(spec.command)} < /dev/null > "$k/po" 2> "$k/pe" 5>&- 6>&- & p=$!`,
    'echo "$p" > "$k/pid"',
    // A cancel that ran before the pid was written left its mark: honour it now.
    '[ -e "$k/cancel" ] && kill -TERM -- -"$p" "$p" 2>/dev/null',
    // The watchdog has its own group too, so it goes as a whole (its sleep included) when the command ends first.
    `setsid bash -c ${shellQuote('sleep "$1"; touch "$2/t"; kill -TERM -- -"$3" "$3" 2>/dev/null; sleep "$4"; kill -KILL -- -"$3" "$3" 2>/dev/null')} ` +
      `kiln ${seconds(spec.timeoutMs)} "$k" "$p" ${seconds(spec.graceMs)} < /dev/null > /dev/null 2>&1 5>&- 6>&- & w=$!`,
    // From here on the wrapper's own stderr (job notices) must not mix into the result it prints.
    "exec 2>/dev/null",
    'wait "$p"; x=$?',
    // The watchdog by pid first (it may not have reached its setsid yet), then whatever its group holds.
    'kill -KILL "$w"; kill -KILL -- -"$p" "-$w"',
    'wait "$w"',
    // The wrapper lets go of the FIFOs: the tees read EOF once the command's processes are gone. A tee
    // that only now opens its FIFO (a command that ended at once) is let through by a passing writer.
    "exec 5>&- 6>&-",
    'for i in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$t1" 2>/dev/null || kill -0 "$t2" 2>/dev/null || break; : <>"$k/po"; : <>"$k/pe"; sleep 0.05; done',
    'wait "$t1" "$t2"',
    "d=$(( ($(date +%s%N) - s) / 1000000 ))",
    `printf '%s %s %s %s %s\\n' ${shellQuote(`KILN-${spec.execId}`)} "$x" "$([ -e "$k/t" ] && echo 1 || echo 0)" "$([ -e "$k/cancel" ] && echo 1 || echo 0)" "$d"`,
    "for f in c o e; do",
    '  n=$(wc -c < "$k/$f")',
    `  if [ "$n" -le ${spec.maxOutputBytes} ]; then printf '%s %s -\\n' "$n" "$(base64 -w0 < "$k/$f")"`,
    `  else printf '%s %s %s\\n' "$n" "$(head -c ${head} "$k/$f" | base64 -w0)" "$(tail -c ${tail} "$k/$f" | base64 -w0)"; fi`,
    "done",
    'rm -rf "$k"',
  ].join("\n");
}

/** Kills the command of a running exec script (an abort): marks it cancelled, then kills its group. */
export function cancelExecScript(execId: string, graceMs: number): string {
  const dir = shellQuote(execDir(execId));
  return [
    `k=${dir}`,
    // The mark first: the command may not have started yet (the two requests race), and it checks for it.
    'mkdir -p "$k" && touch "$k/cancel"',
    'i=0; while [ ! -s "$k/pid" ] && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i+1)); done',
    // Never started: leave nothing behind in /tmp.
    '[ -s "$k/pid" ] || { rm -rf "$k"; exit 0; }',
    killGroup('"$k/pid"', graceMs),
  ].join("\n");
}

/** What an exec script reported. */
export type ExecOutcome =
  | { kind: "nocwd" }
  | {
      kind: "ran";
      status: number;
      timedOut: boolean;
      cancelled: boolean;
      durationMs: number;
      output: OutputCap;
      stdout: OutputCap;
      stderr: OutputCap;
    };

/** One capture line: `<size> <head base64> <tail base64 | ->`, rebuilt as the cap the local provider would hold. */
function captureOf(line: string | undefined, maxOutputBytes: number): OutputCap {
  const [size, head = "", tail = "-"] = (line ?? "0").split(" ");
  const cap = OutputCap.even(maxOutputBytes);
  const headBytes = Buffer.from(head, "base64");
  cap.push(headBytes);
  if (tail !== "-") {
    const tailBytes = Buffer.from(tail, "base64");
    cap.skip(Number(size) - headBytes.length - tailBytes.length);
    cap.push(tailBytes);
  }
  return cap;
}

/** Parses what {@link execScript} printed; undefined when its marker line is missing (the script itself failed). */
export function parseExecOutput(result: string, execId: string, maxOutputBytes: number): ExecOutcome | undefined {
  const lines = result.split("\n");
  const at = lines.findIndex((line) => line.startsWith(`KILN-${execId} `));
  if (at === -1) return undefined;
  const fields = lines[at].split(" ");
  if (fields[1] === "nocwd") return { kind: "nocwd" };
  return {
    kind: "ran",
    status: Number(fields[1]),
    timedOut: fields[2] === "1",
    cancelled: fields[3] === "1",
    durationMs: Number(fields[4]),
    output: captureOf(lines[at + 1], maxOutputBytes),
    stdout: captureOf(lines[at + 2], maxOutputBytes),
    stderr: captureOf(lines[at + 3], maxOutputBytes),
  };
}

const HASHES_MARKER = "KILN-HASHES";

/**
 * Lists `path` (a directory's entries, or the one file it names) with `find`: type, permission bits,
 * size and path of regular files and directories, NUL-separated, skipping ignored directories by exact
 * name; then, when asked, the sha256 of every file listed, all in one command. Exit {@link EXIT.notFound}
 * when the path does not exist.
 */
export function listScript(path: string, recursive: boolean, hashes: boolean): string {
  const ignored = [...IGNORED_DIRECTORIES].map((name) => `-name ${shellQuote(name)}`).join(" -o ");
  const depth = recursive ? '-mindepth "$min"' : '-mindepth "$min" -maxdepth 1';
  const find = `find -H "$p" ${depth} \\( -type d \\( ${ignored} \\) -prune \\) -o`;
  return [
    `p=${pathWord(path)}`,
    `[ -e "$p" ] || exit ${EXIT.notFound}`,
    'if [ -d "$p" ]; then min=1; else min=0; fi',
    `${find} \\( -type f -o -type d \\) -printf '%y %m %s %p\\0' || exit 1`,
    ...(hashes ? [`printf '${HASHES_MARKER}\\0'`, `${find} -type f -exec sha256sum -z -- {} + || exit 1`] : []),
  ].join("\n");
}

/** `./a/b` or `.` as printed by find, as a project path (`a/b`). */
function projectPath(printed: string): string {
  return printed === "." ? "" : printed.replace(/^\.\//, "");
}

/** Parses what {@link listScript} printed into entries sorted by path (as the local provider sorts them). */
export function parseListOutput(result: string): FileEntry[] {
  const records = result.split("\0");
  const marker = records.indexOf(HASHES_MARKER);
  const listing = marker === -1 ? records : records.slice(0, marker);
  const byPath = new Map<string, FileEntry>();
  for (const record of listing) {
    const match = /^([fd]) ([0-7]+) (\d+) (.+)$/s.exec(record.replace(/^\n+/, ""));
    if (!match) continue;
    const isDir = match[1] === "d";
    const path = projectPath(match[4]);
    byPath.set(path, { path, size: isDir ? 0 : Number(match[3]), isDir, mode: parseInt(match[2], 8) & 0o777 });
  }
  if (marker !== -1) {
    for (const record of records.slice(marker + 1)) {
      const match = /^([0-9a-f]{64}) [ *](.+)$/s.exec(record);
      const entry = match ? byPath.get(projectPath(match[2])) : undefined;
      if (entry && match) entry.sha256 = match[1];
    }
  }
  return [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Removes paths recursively; a missing one is fine. */
export function deleteScript(paths: string[]): string {
  return `rm -rf -- ${paths.map(pathWord).join(" ")}`;
}

/** Moves `from` to `to`, creating the parents of `to`; exit {@link EXIT.notFound} when `from` does not exist. */
export function renameScript(from: string, to: string): string {
  return [
    `f=${pathWord(from)}; t=${pathWord(to)}`,
    `[ -e "$f" ] || [ -L "$f" ] || exit ${EXIT.notFound}`,
    'mkdir -p -- "$(dirname -- "$t")" && mv -fT -- "$f" "$t"',
  ].join("\n");
}

/** Sets permission bits: `chmod` once per distinct mode. */
export function chmodScript(files: Array<{ path: string; mode: number }>): string {
  const byMode = new Map<number, string[]>();
  for (const file of files) byMode.set(file.mode, [...(byMode.get(file.mode) ?? []), file.path]);
  return [...byMode.entries()].map(([mode, paths]) => `chmod ${mode.toString(8)} -- ${paths.map(pathWord).join(" ")}`).join(" && ");
}

/**
 * Why a batch upload failed, for paths it could not write: prints `<index> dir` for the first path that is
 * a directory, `<index> file` for the first with a file where a parent directory should be, else `none`.
 */
export function diagnoseWritesScript(paths: string[]): string {
  return [
    "i=0",
    `for p in ${paths.map(pathWord).join(" ")}; do`,
    '  if [ -d "$p" ] && [ ! -L "$p" ]; then echo "$i dir"; exit 0; fi',
    '  q=$(dirname -- "$p")',
    '  while [ "$q" != . ]; do',
    '    if [ -e "$q" ] && [ ! -d "$q" ]; then echo "$i file"; exit 0; fi',
    '    q=$(dirname -- "$q")',
    "  done",
    "  i=$((i+1))",
    "done",
    "echo none",
  ].join("\n");
}

/** The pid file of a background process (a shell word). */
function processPidFile(layout: SandboxLayout, processId: string): string {
  return shellQuote(`${layout.stateDir}/${processId}.pgid`);
}

/** Before starting a background process: checks its cwd (exit {@link EXIT.badCwd}) and makes the directory of pid files. */
export function prepareProcessScript(layout: SandboxLayout, cwd: string): string {
  return [`cd -- ${pathWord(cwd)} 2>/dev/null && [ -d . ] || exit ${EXIT.badCwd}`, `mkdir -p -- ${shellQuote(layout.stateDir)} || exit 1`].join("\n");
}

function assignments(env: Record<string, string>): string {
  return Object.entries(env).map(([key, value]) => shellQuote(`${key}=${value}`)).join(" ");
}

/**
 * The session command of a background process: its own session (so its whole group can be killed), its
 * group id in a pid file, `bash -lc <command>` in its cwd (below the project) with its environment.
 */
export function processCommand(layout: SandboxLayout, processId: string, cwd: string, env: Record<string, string>, command: string): string {
  const dir = shellQuote(cwd === "" ? layout.project : `${layout.project}/${cwd}`);
  const inner = 'echo $$ > "$1"; cd -- "$2" || exit 1; shift 2; exec env -- "$@"';
  return `setsid -w bash -c ${shellQuote(inner)} kiln ${processPidFile(layout, processId)} ${dir} ${assignments(env)} bash -lc ${shellQuote(command)}`;
}

/** Kills a background process's whole group (SIGTERM, SIGKILL after the grace period). */
export function stopProcessScript(layout: SandboxLayout, processId: string, graceMs: number): string {
  return killGroup(processPidFile(layout, processId), graceMs);
}

/** An exec script as a session command (which has no cwd or environment of its own): in the project, with `env`. */
export function sessionExecCommand(layout: SandboxLayout, env: Record<string, string>, script: string): string {
  const project = shellQuote(layout.project);
  return `cd -- ${project} 2>/dev/null || { printf 'the project directory %s is missing\\n' ${project}; exit 97; }; exec env -- ${assignments(env)} bash -c ${shellQuote(script)}`;
}

/** What a path of a batch read is: a regular file and its size, a directory, something else, or nothing. */
export type PathKind = { kind: "file"; size: number; content?: Buffer } | { kind: "dir" } | { kind: "other" } | { kind: "missing" };

/**
 * Prints one line per path, in order: `f <size>`, `d`, `o` (a FIFO, a device: never read) or `n` (nothing
 * there), and for each regular file of at most `inlineBytes` its bytes too, base64 on its line
 * (`c <size> <base64>`), while the files printed so far stay within `budgetBytes`: small files come back
 * in this one command, not a download each. `head -c` reads no more than the size measured,
 * so a file that grows meanwhile (the sandbox runs hostile code) cannot make the output larger.
 */
export function statScript(paths: string[], inlineBytes: number, budgetBytes: number): string {
  return [
    `left=${Math.floor(budgetBytes)}`,
    `for p in ${paths.map(pathWord).join(" ")}; do`,
    // Spawns are the cost per file here: the size trimmed by bash itself, base64 unwrapped by its -w0.
    '  if [ -f "$p" ]; then s=$(wc -c < "$p"); s=${s//[!0-9]/}',
    `    if [ "$s" -le ${Math.floor(inlineBytes)} ] && [ "$s" -le "$left" ]; then left=$((left - s)); printf 'c %s ' "$s"; head -c "$s" -- "$p" | base64 -w0; echo`,
    "    else printf 'f %s\\n' \"$s\"; fi",
    '  elif [ -d "$p" ]; then echo d',
    '  elif [ -e "$p" ]; then echo o',
    "  else echo n; fi",
    "done",
  ].join("\n");
}

/**
 * Parses what {@link statScript} printed; undefined when it does not account
 * for every path, or a file's bytes are not the base64 of at most its size.
 */
export function parseStatOutput(output: string, count: number): PathKind[] | undefined {
  const lines = output.split("\n").filter((line) => line !== "");
  if (lines.length !== count) return undefined;
  const kinds = lines.map((line): PathKind | undefined => {
    const file = /^f (\d+)$/.exec(line);
    if (file) return { kind: "file", size: Number(file[1]) };
    const read = /^c (\d+) ?([A-Za-z0-9+/]*={0,2})$/.exec(line);
    if (read) {
      const size = Number(read[1]);
      // A file that shrank after it was measured gives fewer bytes: they are what it holds now.
      const content = Buffer.from(read[2]!, "base64");
      return content.length <= size ? { kind: "file", size: content.length, content } : undefined;
    }
    return line === "d" ? { kind: "dir" } : line === "o" ? { kind: "other" } : line === "n" ? { kind: "missing" } : undefined;
  });
  return kinds.every((kind) => kind !== undefined) ? (kinds as PathKind[]) : undefined;
}
