import type { ServiceHealth } from "../lib/health";
import { FILE_CALL_BODY_LIMIT, type Routes } from "../lib/routes";

/** Where a workspace is in its life. `restoring`: an archived sandbox on its way back (Daytona: minutes, not seconds). */
export type WorkspaceStatus = "creating" | "running" | "stopped" | "archived" | "restoring" | "error" | "deleted";

/** A project's live sandbox. */
export interface Workspace {
  id: string;
  projectId: string;
  /** `running` is ready for files and commands; `deleted` means its sandbox is gone (create a new one). */
  status: WorkspaceStatus;
  provider: "local" | "daytona";
  providerSandboxId: string | null;
  /** The reason of `error` (the provider's own words), or why the sandbox is gone. */
  lastError: string | null;
  /** The port the dev server must listen on (also in the PORT environment variable of every command). */
  devPort: number;
  /** The preview last seen answering. */
  previewUrl: string | null;
  /** The template it was made from; null for an empty project. */
  template: string | null;
  /** The command its dev server runs (the template's, until a generation names another); null when none was started. */
  devCommand: string | null;
  createdAt: string;
  updatedAt: string;
  readyAt: string | null;
}

/** Creates a project's workspace. */
export interface CreateWorkspaceRequest {
  projectId: string;
  /** A template's name: its files, its installed dependencies and its dev server, started at once. Absent: empty. */
  template?: string;
  /** The project's own files are about to be restored over the template's: its dev server waits for them. */
  restoring?: boolean;
}

/** Names a workspace. */
export interface WorkspaceRef {
  id: string;
}

/** A file's bytes, base64-encoded (binary-safe in JSON). */
export interface FileContent {
  path: string;
  contentBase64: string;
  /** Permission bits, e.g. 420 (0o644). */
  mode?: number;
}

/** Writes files in one batch. */
export interface WriteFilesRequest {
  id: string;
  files: FileContent[];
}

/** Reads files in one batch. */
export interface ReadFilesRequest {
  id: string;
  paths: string[];
}

/** One file read: content, or why there is none ("not_found", "is_directory", "too_large"). */
export interface FileReadResult {
  path: string;
  contentBase64?: string;
  error?: string;
}

/** Files read in one batch, in the order asked. */
export interface ReadFilesResponse {
  files: FileReadResult[];
}

/** Lists files. */
export interface ListFilesRequest {
  id: string;
  /** A directory relative to the project root; the root by default. */
  path?: string;
  recursive?: boolean;
  /** Include each file's sha256. */
  hashes?: boolean;
}

/** One listed entry. */
export interface FileInfo {
  path: string;
  size: number;
  isDir: boolean;
  sha256?: string;
  mode?: number;
}

/** A listing. */
export interface FileList {
  files: FileInfo[];
}

/** Removes files or directories. */
export interface DeleteFilesRequest {
  id: string;
  paths: string[];
}

/** Moves a file or directory. */
export interface RenameRequest {
  id: string;
  from: string;
  to: string;
}

/** Runs a shell command in the sandbox. */
export interface ExecRequest {
  id: string;
  command: string;
  cwd?: string;
  env?: Record<string, string>;
  /** Default 120,000; at most 1,800,000. */
  timeoutMs?: number;
  /** Default 100,000; head and tail kept. */
  maxOutputBytes?: number;
  /** A caller-chosen id, so the command can be cancelled with `cancelExec` while it runs. */
  execId?: string;
}

/** Names a running command. */
export interface ExecRef {
  id: string;
  execId: string;
}

/** Whether a running command was found and killed. */
export interface CancelExecResponse {
  cancelled: boolean;
}

/** How a command ended. */
export interface ExecResponse {
  exitCode: number | null;
  output: string;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** Killed by `cancelExec`. */
  cancelled: boolean;
  droppedBytes: number;
  durationMs: number;
}

/** Starts a long-running process. */
export interface StartProcessRequest {
  id: string;
  name: string;
  command: string;
  cwd?: string;
  env?: Record<string, string>;
}

/** A started process. */
export interface ProcessRef {
  id: string;
  processId: string;
}

/** A process's output so far. */
export interface ProcessLogsRequest {
  id: string;
  processId: string;
  tailBytes?: number;
}

/** Output of a process, and whether it still runs. */
export interface ProcessLogsResponse {
  output: string;
  running: boolean;
  exitCode: number | null;
}

/** Brings the project's dev server up and checks it answers over HTTP. */
export interface EnsureDevServerRequest {
  id: string;
  command: string;
  cwd?: string;
  /** How long to wait for the first HTTP answer; default 60,000. */
  probeTimeoutMs?: number;
}

/** The dev server answering, or why it does not. */
export interface DevServerStatus {
  ok: boolean;
  previewUrl: string | null;
  /** The signed preview token where the provider signs links (Daytona). */
  previewToken: string | null;
  processId: string | null;
  /** Why it is not up. */
  problem: string | null;
  /** The dev server's last output lines. */
  logTail: string;
}

/** The dev server's latest output. */
export interface DevServerLogsRequest {
  id: string;
  /** How much of the end of its output: 1 to 5,000,000 bytes, 65,536 by default. */
  tailBytes?: number;
}

/** What the workspace's dev server printed last (stdout and stderr, as the sandbox wrote them: untrusted text). */
export interface DevServerLogs {
  /** The last `tailBytes` bytes of its output; empty when no dev server was started or the sandbox is not running. */
  output: string;
  running: boolean;
  exitCode: number | null;
  /** The command it runs; null when none was started. */
  command: string | null;
  /** The workspace's status: a stopped or archived sandbox has no dev server running. */
  workspaceStatus: WorkspaceStatus;
}

/**
 * Who a preview link is for: the project's owner (the dashboard's frame, Kiln's own checks) or the share
 * gateway, which serves it to visitors. Where links are bearer URLs (Daytona's signed ones) each audience
 * gets its own, so revoking the share gateway's leaves the owner's frame open.
 */
export type PreviewAudience = "owner" | "share";

/** Where a browser reaches a port. */
export interface PreviewRequest {
  id: string;
  port?: number;
  /** `share` for the share gateway: on Daytona a signed link apart from the owner's, revoked with `revokePreviewLinks`; `owner` by default. */
  audience?: PreviewAudience;
}

/** Revokes a workspace's preview links of one audience (the share gateway's when a share link is revoked). */
export interface RevokePreviewLinksRequest {
  id: string;
  audience: PreviewAudience;
}

/** What a revoke of preview links did. */
export interface RevokedPreviewLinks {
  /** Links that open nothing any more. */
  revoked: number;
  /** Links the provider did not revoke now: never handed out again, revoked at Kiln's next try (the next link taken, the next revoke, the sandbox's next stop) or dead at their TTL, whichever comes first. */
  pending: number;
}

/** A preview link. */
export interface Preview {
  url: string;
  token: string | null;
  expiresAt: string | null;
}

/** What a reconciliation sweep did. */
export interface ReconcileReport {
  /** Provider sandboxes labelled as Kiln's with no live workspace: deleted. */
  deletedOrphans: string[];
  /** Workspaces whose sandbox is gone: marked deleted, so the next use re-creates them. */
  markedGone: string[];
  /** Sandboxes the sweep could not settle this time, with the provider's reason (the others were settled; the next sweep tries again). */
  failed: Array<{ sandboxId: string; reason: string }>;
}

/** Opens a terminal in a running workspace, or a new ticket for one of its live terminals (a reconnect). */
export interface OpenTerminalRequest {
  id: string;
  /** The user the ticket is for: only they may attach with it (their files are backed up in their name). */
  userID: string;
  /** A live terminal of this workspace to reconnect to; a new terminal when absent. */
  terminalId?: string;
  /** The size of a new terminal (24 × 80 by default); a reconnect sends its size on the socket. */
  rows?: number;
  cols?: number;
}

/** A terminal and a single-use ticket to attach to it over a WebSocket. */
export interface TerminalTicket {
  terminalId: string;
  /** Single-use and short-lived: the socket's `ticket` query parameter; never a long-lived token. */
  ticket: string;
  expiresAt: string;
  /** Where the socket is: `/workspaces/<id>/terminals/<terminalId>/socket` (add `?ticket=`). */
  socketPath: string;
}

/** A workspace's live terminals. */
export interface TerminalList {
  terminals: Array<{ terminalId: string; createdAt: string; attached: boolean }>;
}

/** The handshake of a terminal socket: the path's workspace and terminal and the query's ticket. */
export interface TerminalHandshake {
  id: string;
  terminalId: string;
  ticket: string;
}

/** What the browser sends on a terminal socket (JSON text frames): `input` (keystrokes or pasted text in `data`) or `resize` (`rows`, `cols`). */
export interface TerminalClientMessage {
  type: "input" | "resize";
  data?: string;
  rows?: number;
  cols?: number;
}

/** Why Kiln closes a terminal socket: idle, replaced by another attach, its workspace stopped, a limit passed, or an error. */
export type TerminalCloseReason = "idle" | "replaced" | "stopped" | "limit" | "error";

/**
 * What Kiln sends on a terminal socket: `output` (`data`; the scrollback first on every attach), `exit`
 * (the shell ended with `exitCode`) or `closed` (`reason` and `message`, just before the socket closes).
 * One interface with optional fields, not a union: Encore's stream messages must be object types.
 */
export interface TerminalServerMessage {
  type: "output" | "exit" | "closed";
  data?: string;
  exitCode?: number | null;
  reason?: TerminalCloseReason;
  message?: string;
}

/** No request fields. */
export type Empty = Record<string, never>;

/** The workspace service: each project's live sandbox, its files, commands and preview. */
export interface WorkspaceApi {
  /** The service's health: its database and its sandbox provider. */
  health(): Promise<ServiceHealth>;
  /** Creates a workspace; returns at once, with status `creating` while the sandbox is provisioned, or `running` when it claimed a spare of the warm pool. */
  create(req: CreateWorkspaceRequest): Promise<Workspace>;
  /** The workspace, its status refreshed from the provider (what a generation polls). */
  get(req: WorkspaceRef): Promise<Workspace>;
  /** Starts a stopped or archived workspace. */
  start(req: WorkspaceRef): Promise<Workspace>;
  /** Stops a workspace (its files stay). */
  stop(req: WorkspaceRef): Promise<Workspace>;
  /** Deletes a workspace and its sandbox. */
  del(req: WorkspaceRef): Promise<void>;
  /** Writes files in one provider call (callers batch them: lib/batches.ts; one file up to 10 MiB fits alone). */
  writeFiles(req: WriteFilesRequest): Promise<FileList>;
  /** Reads files in one provider call. */
  readFiles(req: ReadFilesRequest): Promise<ReadFilesResponse>;
  /** Lists files (node_modules, .git, dist, build and caches left out). */
  listFiles(req: ListFilesRequest): Promise<FileList>;
  /** Removes files or directories. */
  deleteFiles(req: DeleteFilesRequest): Promise<void>;
  /** Moves a file or directory. */
  rename(req: RenameRequest): Promise<void>;
  /** Runs a command: timeout, capped output, exit code. */
  exec(req: ExecRequest): Promise<ExecResponse>;
  /** Kills a command started with `execId` and everything it started. */
  cancelExec(req: ExecRef): Promise<CancelExecResponse>;
  /** Starts a long-running process (a dev server). */
  startProcess(req: StartProcessRequest): Promise<ProcessRef>;
  /** A process's output so far. */
  processLogs(req: ProcessLogsRequest): Promise<ProcessLogsResponse>;
  /** Stops a process. */
  stopProcess(req: ProcessRef): Promise<void>;
  /** Starts the dev server if needed and probes it over HTTP until it answers (bounded). */
  ensureDevServer(req: EnsureDevServerRequest): Promise<DevServerStatus>;
  /** The dev server's latest output, without starting anything (a workspace that is not running answers empty). */
  devServerLogs(req: DevServerLogsRequest): Promise<DevServerLogs>;
  /** The preview link of a port (the workspace's dev port by default). */
  preview(req: PreviewRequest): Promise<Preview>;
  /** Revokes the preview links handed out for one audience, so the next `preview` of it is a new link (a workspace without a sandbox has none). */
  revokePreviewLinks(req: RevokePreviewLinksRequest): Promise<RevokedPreviewLinks>;
  /** Deletes orphan sandboxes and marks workspaces whose sandbox is gone. */
  reconcile(req: Empty): Promise<ReconcileReport>;
  /** A new terminal in a running workspace (or a ticket to reconnect to a live one): see workspace/terminal/. */
  openTerminal(req: OpenTerminalRequest): Promise<TerminalTicket>;
  /** The workspace's live terminals. */
  listTerminals(req: WorkspaceRef): Promise<TerminalList>;
}

/** Where each WorkspaceApi method is served (mirrored by workspace/api.ts). All service-to-service. */
export const workspaceRoutes = {
  health: { method: "GET", path: "/workspaces/health", expose: true, auth: false, fields: {} },
  create: { method: "POST", path: "/workspaces", expose: false, auth: false },
  get: { method: "GET", path: "/workspaces/:id", expose: false, auth: false, fields: { id: "string" } },
  start: { method: "POST", path: "/workspaces/:id/start", expose: false, auth: false },
  stop: { method: "POST", path: "/workspaces/:id/stop", expose: false, auth: false },
  del: { method: "DELETE", path: "/workspaces/:id", expose: false, auth: false, fields: { id: "string" } },
  writeFiles: { method: "POST", path: "/workspaces/:id/files", expose: false, auth: false, bodyLimit: FILE_CALL_BODY_LIMIT },
  readFiles: { method: "POST", path: "/workspaces/:id/files/read", expose: false, auth: false },
  listFiles: { method: "GET", path: "/workspaces/:id/files", expose: false, auth: false, fields: { id: "string", path: "string", recursive: "boolean", hashes: "boolean" } },
  deleteFiles: { method: "POST", path: "/workspaces/:id/files/delete", expose: false, auth: false },
  rename: { method: "POST", path: "/workspaces/:id/files/rename", expose: false, auth: false },
  exec: { method: "POST", path: "/workspaces/:id/exec", expose: false, auth: false },
  cancelExec: { method: "POST", path: "/workspaces/:id/exec/:execId/cancel", expose: false, auth: false },
  startProcess: { method: "POST", path: "/workspaces/:id/processes", expose: false, auth: false },
  processLogs: { method: "GET", path: "/workspaces/:id/processes/:processId/logs", expose: false, auth: false, fields: { id: "string", processId: "string", tailBytes: "number" } },
  stopProcess: { method: "POST", path: "/workspaces/:id/processes/:processId/stop", expose: false, auth: false },
  ensureDevServer: { method: "POST", path: "/workspaces/:id/dev-server", expose: false, auth: false },
  devServerLogs: { method: "GET", path: "/workspaces/:id/dev-server/logs", expose: false, auth: false, fields: { id: "string", tailBytes: "number" } },
  preview: { method: "GET", path: "/workspaces/:id/preview", expose: false, auth: false, fields: { id: "string", port: "number", audience: "string" } },
  revokePreviewLinks: { method: "POST", path: "/workspaces/:id/preview/revoke", expose: false, auth: false },
  reconcile: { method: "POST", path: "/workspaces/reconcile", expose: false, auth: false },
  openTerminal: { method: "POST", path: "/workspaces/:id/terminals", expose: false, auth: false },
  listTerminals: { method: "GET", path: "/workspaces/:id/terminals", expose: false, auth: false, fields: { id: "string" } },
} as const satisfies Routes<WorkspaceApi>;
