/**
 * The sandbox provider interface: what the workspace service needs from a place that holds a project's
 * files and runs its commands. Implemented by the local provider (a directory and process groups on this
 * machine, isolated with bubblewrap) and by the Daytona provider.
 *
 * Common rules of every implementation:
 * - every path is relative to the project root and goes through `safeRelativePath` (lib/paths.ts);
 *   a hostile path is refused with `AppError("invalid_argument")` naming the path, before anything is touched;
 * - an unknown sandbox id is `AppError("not_found")`, except for `get`, which answers `state: "gone"`;
 * - files, commands, processes and preview URLs need a running sandbox (`failed_precondition` otherwise).
 */

import type { PreviewAudience, RevokedPreviewLinks } from "../contract";

/**
 * The lifecycle of a sandbox as its provider knows it. `archived` is restorable; `restoring` is on its way
 * back from an archive (minutes, not seconds); `gone` no longer exists.
 */
export type SandboxState = "creating" | "running" | "stopped" | "archived" | "restoring" | "error" | "gone";

/** One sandbox as its provider knows it. */
export interface SandboxInfo {
  /** The provider's id of the sandbox. */
  id: string;
  state: SandboxState;
  /** The provider's reason when `state` is `error`. */
  error?: string;
  /** Labels set at creation: see {@link kilnLabels}. */
  labels: Record<string, string>;
}

/** One entry of a file listing. */
export interface FileEntry {
  /** Relative to the project root, POSIX separators. */
  path: string;
  /** In bytes; 0 for directories. */
  size: number;
  isDir: boolean;
  /** Hex sha256 of the content, for files when hashes were asked for. */
  sha256?: string;
  /** Permission bits (`0o644`, `0o755`, ...). */
  mode?: number;
}

/** A command to run to completion in a sandbox. */
export interface ExecRequest {
  /** A shell command line, run by `bash -lc` as one argv element (never interpolated into another command). */
  command: string;
  /** Working directory relative to the project root; the root by default. */
  cwd?: string;
  /** Extra environment variables; the sandbox's environment holds nothing of the server's. */
  env?: Record<string, string>;
  /** After this long the command and everything it started are killed (`timedOut: true`). */
  timeoutMs: number;
  /** Most bytes of output kept: the head and the tail, the middle dropped. */
  maxOutputBytes: number;
  /** Aborting kills the command and everything it started (`cancelled: true`). */
  signal?: AbortSignal;
}

/** How a command ended, with its captured output. */
export interface ExecResult {
  /** The exit code, or null when the command was killed by a signal (timeout, cancel). */
  exitCode: number | null;
  /** stdout and stderr interleaved in the order they arrived, capped like the others. */
  output: string;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  cancelled: boolean;
  /** Bytes of `output` dropped from its middle (a marker line there says how many); 0 when nothing was. */
  droppedBytes: number;
  durationMs: number;
}

/** A file to write: content as bytes (binary-safe), permission bits optional (`0o644` by default). */
export interface FileWrite {
  path: string;
  content: Buffer;
  mode?: number;
}

/** Why a file of a batch read could not be read. */
export type ReadFailure = "not_found" | "is_directory" | "too_large";

/** One file of a batch read: its content, or why there is none. */
export type FileRead = { path: string; content: Buffer } | { path: string; error: ReadFailure };

/** What to list: a directory (the root by default), recursively or not, with content hashes or not. */
export interface ListFilesOptions {
  path?: string;
  recursive?: boolean;
  hashes?: boolean;
}

/** A long-running process (a dev server) to start in a sandbox. */
export interface ProcessRequest {
  /** A short name (`dev`, `watch`), unique among the sandbox's running processes. */
  name: string;
  command: string;
  cwd?: string;
  env?: Record<string, string>;
}

/** The output of a long-running process so far and whether it still runs. */
export interface ProcessLogs {
  output: string;
  running: boolean;
  exitCode: number | null;
}

/** A terminal to open in a sandbox: its size, and where its output and its end go. */
export interface TerminalRequest {
  rows: number;
  cols: number;
  /** Where the shell starts, relative to the project root; the root by default. */
  cwd?: string;
  /** The pseudo-terminal's output as it comes (untrusted bytes: anything the sandbox writes). */
  onOutput(chunk: Buffer): void;
  /** Called once when the shell ended (its exit code, null when killed), the sandbox's stop and delete included. */
  onExit(exitCode: number | null): void;
}

/** An interactive shell on a pseudo-terminal in a sandbox, inside the same boundary as its commands. */
export interface SandboxTerminal {
  /** Bytes typed or pasted (Ctrl-C is 0x03: the terminal's line discipline signals the foreground job). */
  write(data: Buffer): Promise<void>;
  /** The terminal's new size: the shell and its foreground job get SIGWINCH. */
  resize(rows: number, cols: number): Promise<void>;
  /** Kills the shell and everything it started; resolves once it has ended. */
  close(): Promise<void>;
}


/** Where a browser reaches a port of a sandbox; `token` and `expiresAt` where the provider signs links. */
export interface PreviewLink {
  url: string;
  token?: string;
  expiresAt?: string;
}

/** The provider's own health check: `warn` when it works with reduced guarantees. */
export interface ProviderHealth {
  status: "ok" | "warn" | "fail";
  detail?: string;
}

/** Directory names never listed (matched exactly, at any depth): dependencies, VCS data, build output, caches. */
export const IGNORED_DIRECTORIES: ReadonlySet<string> = new Set(["node_modules", ".git", "dist", "build", ".next", ".cache", ".npm"]);

/** The label every Kiln sandbox carries, so reconciliation finds them among others. */
export const KILN_LABEL = "kiln.managed";

/** The labels of a new sandbox: Kiln's mark, its workspace and project. */
export function kilnLabels(spec: { workspaceId: string; projectId: string }): Record<string, string> {
  return { [KILN_LABEL]: "true", "kiln.workspace": spec.workspaceId, "kiln.project": spec.projectId };
}

/**
 * The starter a new sandbox is made from: its files, and its dependencies installed once per
 * `dependencyVersion` by the provider and shared by every sandbox of that version (each sandbox still
 * writes its own). `files` is empty when the project's own files are about to be restored over it.
 */
export interface SandboxTemplate {
  name: string;
  files: FileWrite[];
  /** How the dependencies install inside a sandbox (`npm ci ...`); null when there are none. */
  install: string | null;
  /** The key of one installation of the dependencies; null with no `install`. */
  dependencyVersion: string | null;
  /** Run the dev command once after the install until it has written `until` below node_modules, so its cache is installed too. */
  devCache?: { command: string; until: string } | null;
}

/** What a new sandbox is for: labels name its workspace and project; `template` fills it. */
export interface SandboxSpec {
  workspaceId: string;
  projectId: string;
  template?: SandboxTemplate;
}

/** One place that holds sandboxes: see the module comment for the rules every implementation follows. */
export interface SandboxProvider {
  readonly name: "local" | "daytona";
  /** A new sandbox labelled with {@link kilnLabels}, filled from its template; resolves once it is running. */
  create(spec: SandboxSpec): Promise<SandboxInfo>;
  /** The state as the provider knows it now; `gone` when it no longer exists. */
  get(id: string): Promise<SandboxInfo>;
  /** Every sandbox labelled as Kiln's, for reconciliation. */
  list(): Promise<SandboxInfo[]>;
  /** Starts a stopped or archived sandbox; resolves once it is running, or `restoring` while an archive comes back (poll `get`). */
  start(id: string): Promise<SandboxInfo>;
  /** Kills the sandbox's processes and stops it; its files stay. */
  stop(id: string): Promise<SandboxInfo>;
  /** Kills the sandbox's processes and removes it with its files. */
  delete(id: string): Promise<void>;
  /** Writes N files in one call, creating parent directories; all paths are checked before any is written. */
  writeFiles(id: string, files: FileWrite[]): Promise<void>;
  /** Reads N files in one call; a missing, directory or oversized path is reported per file. */
  readFiles(id: string, paths: string[]): Promise<FileRead[]>;
  /** Lists a directory, skipping {@link IGNORED_DIRECTORIES} by exact name. */
  listFiles(id: string, opts: ListFilesOptions): Promise<FileEntry[]>;
  /** Removes files and directories (recursively); a path that does not exist is not an error. */
  deletePaths(id: string, paths: string[]): Promise<void>;
  /** Moves a file or directory, creating the parent directories of `to`. */
  rename(id: string, from: string, to: string): Promise<void>;
  /** Runs a command to completion (timeout, cancel, capped output); whatever it left running is killed. */
  exec(id: string, req: ExecRequest): Promise<ExecResult>;
  /** Starts a long-running process (dev server), detached from the request that started it. */
  startProcess(id: string, req: ProcessRequest): Promise<{ processId: string }>;
  /** The output of a process started by `startProcess` (the last `tailBytes` of it when given). */
  processLogs(id: string, processId: string, opts?: { tailBytes?: number }): Promise<ProcessLogs>;
  /** Kills a process started by `startProcess` and everything it started. */
  stopProcess(id: string, processId: string): Promise<void>;
  /** Opens an interactive shell on a pseudo-terminal (local: util-linux `script` in the boundary; Daytona: its PTY sessions). */
  openTerminal(id: string, req: TerminalRequest): Promise<SandboxTerminal>;
  /** Where the browser of the person running Kiln (or, for `share`, the share gateway) reaches `port` of the sandbox; `owner` by default. */
  previewUrl(id: string, port: number, audience?: PreviewAudience): Promise<PreviewLink>;
  /**
   * Revokes the sandbox's preview links handed out for `audience`, so the next one asked for is new; how
   * many were revoked and how many are pending (the provider failed now and retries later). Nothing to
   * revoke where a preview is not a bearer URL (local: a forwarded port) or not signed (public Daytona).
   */
  revokePreviewLinks(id: string, audience: PreviewAudience): Promise<RevokedPreviewLinks>;
  health(): Promise<ProviderHealth>;
  /** Kills every process the provider started. */
  close(): Promise<void>;
}
