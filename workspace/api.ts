import { api, type Query, type StreamInOut } from "encore.dev/api";
import { CronJob } from "encore.dev/cron";
import { call } from "../lib/encore";
import type { ServiceHealth } from "../lib/health";
import type {
  CancelExecResponse,
  CreateWorkspaceRequest,
  DeleteFilesRequest,
  DevServerLogs,
  DevServerLogsRequest,
  DevServerStatus,
  EnsureDevServerRequest,
  ExecRef,
  ExecRequest,
  ExecResponse,
  FileList,
  ListFilesRequest,
  Preview,
  PreviewRequest,
  ProcessLogsRequest,
  ProcessLogsResponse,
  ProcessRef,
  ReadFilesRequest,
  ReadFilesResponse,
  ReconcileReport,
  RenameRequest,
  RevokedPreviewLinks,
  RevokePreviewLinksRequest,
  OpenTerminalRequest,
  StartProcessRequest,
  TerminalClientMessage,
  TerminalList,
  TerminalServerMessage,
  TerminalTicket,
  WriteFilesRequest,
  Workspace,
  WorkspaceRef,
} from "./contract";
import { terminals, workspace } from "./encore-wiring";

/** Health of the workspace service, its database and its sandbox provider. */
export const health = api(
  { expose: true, auth: false, method: "GET", path: "/workspaces/health" },
  async (): Promise<ServiceHealth> => call(async () => (await workspace()).health()),
);

/** Creates a workspace; returns at once with status `creating` while the sandbox is provisioned. */
export const create = api(
  { expose: false, auth: false, method: "POST", path: "/workspaces" },
  async (req: CreateWorkspaceRequest): Promise<Workspace> => call(async () => (await workspace()).create(req)),
);

/** The workspace, its status refreshed from the provider (what a generation polls). */
export const get = api(
  { expose: false, auth: false, method: "GET", path: "/workspaces/:id" },
  async (req: WorkspaceRef): Promise<Workspace> => call(async () => (await workspace()).get(req)),
);

/** Starts a stopped or archived workspace. */
export const start = api(
  { expose: false, auth: false, method: "POST", path: "/workspaces/:id/start" },
  async (req: WorkspaceRef): Promise<Workspace> => call(async () => (await workspace()).start(req)),
);

/** Stops a workspace (its files stay). */
export const stop = api(
  { expose: false, auth: false, method: "POST", path: "/workspaces/:id/stop" },
  async (req: WorkspaceRef): Promise<Workspace> => call(async () => (await workspace()).stop(req)),
);

/** Deletes a workspace and its sandbox. */
export const del = api(
  { expose: false, auth: false, method: "DELETE", path: "/workspaces/:id" },
  async (req: WorkspaceRef): Promise<void> => call(async () => (await workspace()).del(req)),
);

/** Writes files in one provider call (callers batch them; one file up to 10 MiB fits alone: lib/batches.ts). */
export const writeFiles = api(
  { expose: false, auth: false, method: "POST", path: "/workspaces/:id/files", bodyLimit: 16 * 1024 * 1024 },
  async (req: WriteFilesRequest): Promise<FileList> => call(async () => (await workspace()).writeFiles(req)),
);

/** Reads files in one provider call. */
export const readFiles = api(
  { expose: false, auth: false, method: "POST", path: "/workspaces/:id/files/read" },
  async (req: ReadFilesRequest): Promise<ReadFilesResponse> => call(async () => (await workspace()).readFiles(req)),
);

/** Lists files (node_modules, .git, dist, build and caches left out). */
export const listFiles = api(
  { expose: false, auth: false, method: "GET", path: "/workspaces/:id/files" },
  async (req: ListFilesRequest): Promise<FileList> => call(async () => (await workspace()).listFiles(req)),
);

/** Removes files or directories. */
export const deleteFiles = api(
  { expose: false, auth: false, method: "POST", path: "/workspaces/:id/files/delete" },
  async (req: DeleteFilesRequest): Promise<void> => call(async () => (await workspace()).deleteFiles(req)),
);

/** Moves a file or directory. */
export const rename = api(
  { expose: false, auth: false, method: "POST", path: "/workspaces/:id/files/rename" },
  async (req: RenameRequest): Promise<void> => call(async () => (await workspace()).rename(req)),
);

/** Runs a command: timeout, capped output, exit code. */
export const exec = api(
  { expose: false, auth: false, method: "POST", path: "/workspaces/:id/exec" },
  async (req: ExecRequest): Promise<ExecResponse> => call(async () => (await workspace()).exec(req)),
);

/** Kills a command started with `execId` and everything it started. */
export const cancelExec = api(
  { expose: false, auth: false, method: "POST", path: "/workspaces/:id/exec/:execId/cancel" },
  async (req: ExecRef): Promise<CancelExecResponse> => call(async () => (await workspace()).cancelExec(req)),
);

/** Starts a long-running process (a dev server). */
export const startProcess = api(
  { expose: false, auth: false, method: "POST", path: "/workspaces/:id/processes" },
  async (req: StartProcessRequest): Promise<ProcessRef> => call(async () => (await workspace()).startProcess(req)),
);

/** A process's output so far. */
export const processLogs = api(
  { expose: false, auth: false, method: "GET", path: "/workspaces/:id/processes/:processId/logs" },
  async (req: ProcessLogsRequest): Promise<ProcessLogsResponse> => call(async () => (await workspace()).processLogs(req)),
);

/** Stops a process. */
export const stopProcess = api(
  { expose: false, auth: false, method: "POST", path: "/workspaces/:id/processes/:processId/stop" },
  async (req: ProcessRef): Promise<void> => call(async () => (await workspace()).stopProcess(req)),
);

/** Starts the dev server if needed and probes it over HTTP until it answers (bounded). */
export const ensureDevServer = api(
  { expose: false, auth: false, method: "POST", path: "/workspaces/:id/dev-server" },
  async (req: EnsureDevServerRequest): Promise<DevServerStatus> => call(async () => (await workspace()).ensureDevServer(req)),
);

/** The dev server's latest output, without starting anything. */
export const devServerLogs = api(
  { expose: false, auth: false, method: "GET", path: "/workspaces/:id/dev-server/logs" },
  async (req: DevServerLogsRequest): Promise<DevServerLogs> => call(async () => (await workspace()).devServerLogs(req)),
);

/** The preview link of a port (the workspace's dev port by default). */
export const preview = api(
  { expose: false, auth: false, method: "GET", path: "/workspaces/:id/preview" },
  async (req: PreviewRequest): Promise<Preview> => call(async () => (await workspace()).preview(req)),
);

/** Revokes the preview links handed out for one audience (the share gateway's when a share link is revoked). */
export const revokePreviewLinks = api(
  { expose: false, auth: false, method: "POST", path: "/workspaces/:id/preview/revoke" },
  async (req: RevokePreviewLinksRequest): Promise<RevokedPreviewLinks> => call(async () => (await workspace()).revokePreviewLinks(req)),
);

/** Deletes orphan sandboxes and marks workspaces whose sandbox is gone. */
export const reconcile = api(
  { expose: false, auth: false, method: "POST", path: "/workspaces/reconcile" },
  async (): Promise<ReconcileReport> => call(async () => (await workspace()).reconcile({})),
);

/** A new terminal in a running workspace, or a ticket to reconnect to a live one. */
export const openTerminal = api(
  { expose: false, auth: false, method: "POST", path: "/workspaces/:id/terminals" },
  async (req: OpenTerminalRequest): Promise<TerminalTicket> => call(async () => (await workspace()).openTerminal(req)),
);

/** The workspace's live terminals. */
export const listTerminals = api(
  { expose: false, auth: false, method: "GET", path: "/workspaces/:id/terminals" },
  async (req: WorkspaceRef): Promise<TerminalList> => call(async () => (await workspace()).listTerminals(req)),
);

/** The terminal socket's handshake: the ticket rides in the query (a browser socket sets no header). */
interface TerminalSocketHandshake {
  id: string;
  terminalId: string;
  ticket: Query<string>;
}

/**
 * A terminal's socket (the same JSON messages as the standalone server's, workspace/terminal/socket.ts):
 * the single-use ticket from POST /projects/:id/terminals is redeemed first, so a bad one never attaches.
 */
export const terminalSocket = api.streamInOut<TerminalSocketHandshake, TerminalClientMessage, TerminalServerMessage>(
  { expose: true, auth: false, path: "/workspaces/:id/terminals/:terminalId/socket" },
  async (handshake, stream) => {
    const sessions = terminals();
    const redeemed = await call(async () => sessions.redeem(handshake));
    const attachment = sessions.attach(redeemed, { send: (message) => void stream.send(message), close: () => stream.close() });
    try {
      for await (const message of stream) await attachment.receive(message);
    } finally {
      attachment.detach();
    }
  },
);

/** Every 10 minutes: orphan sandboxes deleted, workspaces whose sandbox is gone marked for re-creation. */
const _reconcileSandboxes = new CronJob("reconcile-sandboxes", { title: "Reconcile sandboxes", every: "10m", endpoint: reconcile });
