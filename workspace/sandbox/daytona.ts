import { randomBytes } from "node:crypto";
import { Daytona, DaytonaError, DaytonaNotFoundError, DaytonaTimeoutError, type Sandbox } from "@daytonaio/sdk";
import { AppError, invalidArgument, notFound } from "../../lib/errors";
import type { Logger } from "../../lib/log";
import { describePath, safeRelativePath } from "../../lib/paths";
import { checkExecRequest, checkProcessRequest } from "./command-checks";
import {
  bashCommand,
  cancelExecScript,
  chmodScript,
  deleteScript,
  diagnoseWritesScript,
  execScript,
  EXIT,
  listScript,
  parseExecOutput,
  parseListOutput,
  prepareProcessScript,
  processCommand,
  PROJECT_IN_HOME,
  renameScript,
  stopProcessScript,
} from "./daytona-scripts";
import { checkWrites } from "./sandbox-files";
import {
  KILN_LABEL,
  kilnLabels,
  type ExecRequest,
  type ExecResult,
  type FileEntry,
  type FileRead,
  type FileWrite,
  type ListFilesOptions,
  type PreviewLink,
  type ProcessLogs,
  type ProcessRequest,
  type ProviderHealth,
  type SandboxInfo,
  type SandboxProvider,
  type SandboxState,
} from "./provider";

/** Configuration of the Daytona sandbox provider. */
export interface DaytonaProviderOptions {
  apiKey: string;
  /** The API endpoint (Daytona's cloud when unset); passed explicitly, never read from `.env`. */
  apiUrl?: string;
  /** The region; the organisation's default when unset. */
  target?: string;
  /** Idle minutes before Daytona stops a sandbox (0: never). Minutes, not seconds. */
  autoStopMinutes: number;
  /** Minutes a stopped sandbox stays before Daytona archives it. */
  autoArchiveMinutes: number;
  /** Public previews (anyone with the URL); private by default, reached with the preview token. */
  public: boolean;
  /** When set, preview links are only given for these ports (inclusive). */
  previewPorts?: [number, number];
  /** A snapshot to create sandboxes from (Daytona's default when unset). */
  snapshot?: string;
  log: Logger;
  /** Poll sandbox states over HTTP instead of a socket.io connection (tests against the fake). */
  useDeprecatedPolling?: boolean;
  /** How long create and start wait for `started` (120 s by default). */
  startTimeoutSeconds?: number;
  /** Between SIGTERM and SIGKILL when a command is killed (2 s by default). */
  killGraceMs?: number;
  /** The largest file `readFiles` returns (32 MiB by default). */
  maxReadBytes?: number;
}

/** The sandbox user's home in Daytona's snapshots; the project lives in {@link PROJECT_DIR}. */
const HOME_DIR = "/home/daytona";
/** The project root inside a sandbox: every relative path maps below it. */
export const PROJECT_DIR = `${HOME_DIR}/${PROJECT_IN_HOME}`;
/** Seconds Daytona's own execute timeout allows beyond ours, so ours (which keeps the output) fires first. */
const EXECUTE_BACKSTOP_SECONDS = 15;
const MAX_LABEL_VALUE = 200;
/** Daytona ids and names as accepted in a URL path segment. */
const SANDBOX_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const PROCESS_ID = /^kiln-[A-Za-z0-9._-]{1,100}$/;

/** Daytona's states as the provider interface names them. */
export function stateOf(state: string | undefined): SandboxState {
  switch (state) {
    case "started":
      return "running";
    case "stopped":
    case "stopping":
    case "paused":
    case "pausing":
      return "stopped";
    case "archived":
    case "archiving":
      return "archived";
    case "error":
    case "build_failed":
      return "error";
    case "destroyed":
    case "destroying":
      return "gone";
    default:
      return "creating";
  }
}

function infoOf(sandbox: Sandbox): SandboxInfo {
  const state = stateOf(sandbox.state);
  return {
    id: sandbox.id,
    state,
    ...(state === "error" ? { error: sandbox.errorReason || `Daytona reports the sandbox as ${sandbox.state}` } : {}),
    labels: { ...sandbox.labels },
  };
}

function statusOf(err: unknown): number | undefined {
  return err instanceof DaytonaError ? err.statusCode : undefined;
}

/** A Daytona SDK failure while doing `what` as the AppError a caller can act on. */
function daytonaFailure(err: unknown, what: string): AppError {
  if (err instanceof AppError) return err;
  const status = statusOf(err);
  const message = `Daytona: ${what} failed: ${(err as Error)?.message ?? String(err)}`;
  const details = status === undefined ? null : { daytonaStatus: status };
  if (status === 404) return new AppError("not_found", message, details);
  if (status === 401 || status === 403) return new AppError("unavailable", `${message} (check DAYTONA_API_KEY)`, details);
  if (status === 429) return new AppError("resource_exhausted", message, details);
  if (status === 408 || status === 504 || err instanceof DaytonaTimeoutError) return new AppError("deadline_exceeded", message, details);
  if (status === 400 || status === 409 || status === 422) return new AppError("failed_precondition", message, details);
  return new AppError("unavailable", message, details);
}

function checkLabelValue(field: string, value: unknown): void {
  if (typeof value !== "string" || value === "" || value.length > MAX_LABEL_VALUE) {
    throw invalidArgument(field, `must be a non-empty string of at most ${MAX_LABEL_VALUE} characters`);
  }
}

/** A project path (checked, normalised) as the absolute sandbox path of the toolbox API. */
function sandboxPath(relative: string): string {
  return relative === "" ? PROJECT_DIR : `${PROJECT_DIR}/${relative}`;
}

function emptyResult(over: Partial<ExecResult>): ExecResult {
  return { exitCode: null, output: "", stdout: "", stderr: "", timedOut: false, cancelled: false, droppedBytes: 0, durationMs: 0, ...over };
}

/**
 * The Daytona sandbox provider, on the real `@daytonaio/sdk`: sandboxes labelled as Kiln's, private by
 * default, auto-stopped and auto-archived after the configured minutes; files through the bulk
 * upload/download endpoints (one request for N files); listings, deletes, renames and commands through
 * `process.executeCommand` running the scripts of daytona-scripts.ts; dev servers in sessions.
 */
export function createDaytonaProvider(options: DaytonaProviderOptions): SandboxProvider {
  return new DaytonaProvider(options);
}

class DaytonaProvider implements SandboxProvider {
  readonly name = "daytona" as const;
  private readonly daytona: Daytona;
  private readonly log: Logger;
  /** Sandbox objects by id (they carry the toolbox client); dropped whenever a call suggests they are stale. */
  private readonly sandboxes = new Map<string, Sandbox>();
  /** The session command of each background process this provider started. */
  private readonly commandIds = new Map<string, string>();
  private readonly graceMs: number;
  private readonly startTimeout: number;

  constructor(private readonly options: DaytonaProviderOptions) {
    this.daytona = new Daytona({
      apiKey: options.apiKey,
      apiUrl: options.apiUrl,
      target: options.target,
      useDeprecatedPolling: options.useDeprecatedPolling,
    });
    this.log = options.log.child({ provider: "daytona" });
    this.graceMs = options.killGraceMs ?? 2000;
    this.startTimeout = options.startTimeoutSeconds ?? 120;
  }

  /** The sandbox as Daytona knows it now; `not_found` when it no longer exists. */
  private async fetch(id: string): Promise<Sandbox> {
    if (typeof id !== "string" || !SANDBOX_ID.test(id)) throw notFound("sandbox", String(id));
    try {
      const sandbox = await this.daytona.get(id);
      this.sandboxes.set(id, sandbox);
      return sandbox;
    } catch (err) {
      this.sandboxes.delete(id);
      if (err instanceof DaytonaNotFoundError || statusOf(err) === 404) throw notFound("sandbox", id);
      throw daytonaFailure(err, `reading sandbox ${id}`);
    }
  }

  private notRunning(sandbox: Sandbox): AppError {
    const info = infoOf(sandbox);
    if (info.state === "gone") return notFound("sandbox", sandbox.id);
    const reason = info.error ? ` (${info.error})` : "";
    return new AppError("failed_precondition", `sandbox ${JSON.stringify(sandbox.id)} is ${info.state}${reason}; start it first`, { state: info.state });
  }

  /** A started sandbox: the cached object when it was started, else a fresh read. */
  private async running(id: string): Promise<Sandbox> {
    const cached = this.sandboxes.get(id);
    if (cached?.state === "started") return cached;
    const sandbox = await this.fetch(id);
    if (sandbox.state !== "started") throw this.notRunning(sandbox);
    return sandbox;
  }

  /**
   * A toolbox call on a started sandbox. On failure the sandbox is read again: gone is `not_found`,
   * no longer started is `failed_precondition`, else the failure itself.
   */
  private async toolbox<T>(id: string, what: string, call: (sandbox: Sandbox) => Promise<T>): Promise<T> {
    const sandbox = await this.running(id);
    try {
      return await call(sandbox);
    } catch (err) {
      if (err instanceof AppError) throw err;
      this.sandboxes.delete(id);
      const fresh = await this.fetch(id);
      if (fresh.state !== "started") throw this.notRunning(fresh);
      throw daytonaFailure(err, what);
    }
  }

  /** Runs a script in the project directory; its exit code and output (capped by the script itself). */
  private async script(id: string, what: string, script: string): Promise<{ exitCode: number; output: string }> {
    const response = await this.toolbox(id, what, (sandbox) => sandbox.process.executeCommand(bashCommand(script), PROJECT_DIR, undefined, 600));
    return { exitCode: response.exitCode, output: response.result };
  }

  async create(spec: { workspaceId: string; projectId: string }): Promise<SandboxInfo> {
    checkLabelValue("workspaceId", spec.workspaceId);
    checkLabelValue("projectId", spec.projectId);
    let sandbox: Sandbox;
    try {
      sandbox = await this.daytona.create(
        {
          language: "typescript",
          labels: kilnLabels(spec),
          autoStopInterval: this.options.autoStopMinutes,
          autoArchiveInterval: this.options.autoArchiveMinutes,
          public: this.options.public,
          ...(this.options.snapshot ? { snapshot: this.options.snapshot } : {}),
        },
        { timeout: this.startTimeout },
      );
    } catch (err) {
      if (err instanceof DaytonaError && /failed to start with status/.test(err.message)) {
        throw new AppError("failed_precondition", `Daytona: the new sandbox did not start: ${err.message}`, { workspaceId: spec.workspaceId });
      }
      throw daytonaFailure(err, `creating a sandbox for workspace ${spec.workspaceId}`);
    }
    this.sandboxes.set(sandbox.id, sandbox);
    await this.toolbox(sandbox.id, "creating the project directory", (started) => started.fs.createFolder(PROJECT_DIR, "755"));
    this.log.info("daytona sandbox created", { sandboxId: sandbox.id, workspaceId: spec.workspaceId });
    return infoOf(sandbox);
  }

  async get(id: string): Promise<SandboxInfo> {
    try {
      return infoOf(await this.fetch(id));
    } catch (err) {
      if (err instanceof AppError && err.code === "not_found") return { id, state: "gone", labels: {} };
      throw err;
    }
  }

  async list(): Promise<SandboxInfo[]> {
    const found: SandboxInfo[] = [];
    try {
      for await (const sandbox of this.daytona.list({ labels: { [KILN_LABEL]: "true" } })) {
        const info = infoOf(sandbox);
        if (info.state !== "gone") found.push(info);
      }
    } catch (err) {
      throw daytonaFailure(err, "listing Kiln's sandboxes");
    }
    return found;
  }

  async start(id: string): Promise<SandboxInfo> {
    const sandbox = await this.fetch(id);
    const state = stateOf(sandbox.state);
    if (state === "running") return infoOf(sandbox);
    if (state === "gone") throw notFound("sandbox", id);
    if (state === "error") throw this.notRunning(sandbox);
    try {
      if (sandbox.state === "stopping") await sandbox.waitUntilStopped(this.startTimeout);
      if (state === "creating") await sandbox.waitUntilStarted(this.startTimeout);
      else await sandbox.start(this.startTimeout);
    } catch (err) {
      this.sandboxes.delete(id);
      throw daytonaFailure(err, `starting sandbox ${id} (it was ${sandbox.state})`);
    }
    this.log.info("daytona sandbox started", { sandboxId: id, from: state });
    return infoOf(sandbox);
  }

  async stop(id: string): Promise<SandboxInfo> {
    const sandbox = await this.fetch(id);
    if (sandbox.state === "started") {
      try {
        await sandbox.stop(this.startTimeout);
      } catch (err) {
        this.sandboxes.delete(id);
        throw daytonaFailure(err, `stopping sandbox ${id}`);
      }
    }
    return infoOf(sandbox);
  }

  async delete(id: string): Promise<void> {
    const sandbox = await this.fetch(id);
    try {
      await sandbox.delete();
    } catch (err) {
      if (!(err instanceof DaytonaNotFoundError)) throw daytonaFailure(err, `deleting sandbox ${id}`);
    } finally {
      this.sandboxes.delete(id);
    }
    this.log.info("daytona sandbox deleted", { sandboxId: id });
  }

  async writeFiles(id: string, files: FileWrite[]): Promise<void> {
    const checked = checkWrites(files).map((file) => ({ ...file, relative: safeRelativePath(file.field, file.path) }));
    if (checked.length === 0) {
      await this.running(id);
      return;
    }
    const uploads = checked.map((file) => ({ source: Buffer.from(file.content), destination: sandboxPath(file.relative) }));
    try {
      await this.toolbox(id, `uploading ${checked.length} files`, (sandbox) => sandbox.fs.uploadFiles(uploads));
    } catch (err) {
      // Refused by Daytona while the sandbox runs (not a state or transport problem): find the path in the way.
      if (!(err instanceof AppError) || err.details?.daytonaStatus === undefined) throw err;
      throw await this.explainFailedUpload(id, checked, err);
    }
    const modes = checked.filter((_, index) => files[index].mode !== undefined);
    if (modes.length > 0) {
      const chmod = await this.script(id, "setting file modes", chmodScript(modes.map((file) => ({ path: file.relative, mode: file.mode }))));
      if (chmod.exitCode !== 0) throw new AppError("internal", `Daytona: setting file modes failed: ${chmod.output.trim()}`);
    }
  }

  /** Which path of a refused upload is in the way (a directory at the path, a file where a directory should be). */
  private async explainFailedUpload(id: string, files: Array<{ path: string; field: string; relative: string }>, err: AppError): Promise<AppError> {
    const { output } = await this.script(id, "diagnosing a refused upload", diagnoseWritesScript(files.map((file) => file.relative)));
    const match = /^(\d+) (dir|file)$/m.exec(output);
    const file = match ? files[Number(match[1])] : undefined;
    if (!match || !file) return err;
    const problem = match[2] === "dir" ? "is a directory" : "has a file where a directory is expected";
    return invalidArgument(file.field, `path ${describePath(file.path)} ${problem}`);
  }

  async readFiles(id: string, paths: string[]): Promise<FileRead[]> {
    if (!Array.isArray(paths)) throw invalidArgument("paths", "must be an array");
    const relative = paths.map((path, index) => safeRelativePath(`paths[${index}]`, path));
    if (paths.length === 0) {
      await this.running(id);
      return [];
    }
    const maxBytes = this.options.maxReadBytes ?? 32 * 1024 * 1024;
    const downloads = await this.toolbox(id, `downloading ${paths.length} files`, (sandbox) =>
      sandbox.fs.downloadFiles(relative.map((path) => ({ source: sandboxPath(path) }))),
    );
    return downloads.map((download, index): FileRead => {
      const path = paths[index];
      if (download.result !== undefined && download.error === undefined) {
        const content = Buffer.isBuffer(download.result) ? download.result : Buffer.from(download.result);
        return content.length > maxBytes ? { path, error: "too_large" } : { path, content };
      }
      const details = download.errorDetails;
      const text = `${details?.code ?? ""} ${details?.message ?? download.error ?? ""}`;
      if (details?.statusCode === 404 || /not.?found|no such file/i.test(text)) return { path, error: "not_found" };
      if (/director/i.test(text)) return { path, error: "is_directory" };
      if (details?.statusCode === 413 || /too.?large/i.test(text)) return { path, error: "too_large" };
      throw new AppError("unavailable", `Daytona: reading ${describePath(path)} failed: ${download.error}`);
    });
  }

  async listFiles(id: string, opts: ListFilesOptions): Promise<FileEntry[]> {
    const path = safeRelativePath("path", opts?.path ?? "", { allowRoot: true });
    const { exitCode, output } = await this.script(id, "listing files", listScript(path, opts?.recursive ?? false, opts?.hashes ?? false));
    if (exitCode === EXIT.notFound) throw new AppError("not_found", `path: path ${describePath(opts?.path ?? "")} does not exist`, { field: "path" });
    if (exitCode !== 0) throw new AppError("internal", `Daytona: listing ${describePath(path)} failed: ${output.trim().slice(0, 500)}`);
    return parseListOutput(output);
  }

  async deletePaths(id: string, paths: string[]): Promise<void> {
    if (!Array.isArray(paths)) throw invalidArgument("paths", "must be an array");
    const relative = paths.map((path, index) => safeRelativePath(`paths[${index}]`, path));
    if (relative.length === 0) {
      await this.running(id);
      return;
    }
    const { exitCode, output } = await this.script(id, "deleting files", deleteScript(relative));
    if (exitCode !== 0) throw new AppError("internal", `Daytona: deleting files failed: ${output.trim().slice(0, 500)}`);
  }

  async rename(id: string, from: string, to: string): Promise<void> {
    const source = safeRelativePath("from", from);
    const destination = safeRelativePath("to", to);
    const { exitCode, output } = await this.script(id, "renaming a path", renameScript(source, destination));
    if (exitCode === EXIT.notFound) throw new AppError("not_found", `from: path ${describePath(from)} does not exist`, { field: "from" });
    if (exitCode !== 0) {
      const code = /not empty/i.test(output) ? "already_exists" : "invalid_argument";
      throw new AppError(code, `to: cannot move ${describePath(from)} to ${describePath(to)}: ${output.trim().slice(0, 500)}`, { field: "to" });
    }
  }

  async exec(id: string, req: ExecRequest): Promise<ExecResult> {
    checkExecRequest(req);
    const cwd = safeRelativePath("cwd", req.cwd ?? "", { allowRoot: true });
    const sandbox = await this.running(id);
    if (req.signal?.aborted) return emptyResult({ cancelled: true });
    const execId = randomBytes(8).toString("hex");
    const script = execScript({ execId, command: req.command, cwd, timeoutMs: req.timeoutMs, graceMs: this.graceMs, maxOutputBytes: req.maxOutputBytes });
    const backstop = Math.ceil((req.timeoutMs + this.graceMs) / 1000) + EXECUTE_BACKSTOP_SECONDS;
    const onAbort = () => {
      sandbox.process.executeCommand(bashCommand(cancelExecScript(execId, this.graceMs)), PROJECT_DIR, undefined, 60).catch((err: Error) => {
        this.log.warn("cancelling a daytona command failed", { sandboxId: id, reason: err.message });
      });
    };
    req.signal?.addEventListener("abort", onAbort, { once: true });
    const started = performance.now();
    let result: string;
    try {
      result = await this.toolbox(id, "running a command", async (current) => {
        try {
          return (await current.process.executeCommand(bashCommand(script), PROJECT_DIR, req.env, backstop)).result;
        } catch (err) {
          if (statusOf(err) === 408) return undefined;
          throw err;
        }
      }).then((text) => text ?? "");
    } finally {
      req.signal?.removeEventListener("abort", onAbort);
    }
    const durationMs = Math.round(performance.now() - started);
    const outcome = parseExecOutput(result, execId, req.maxOutputBytes);
    if (outcome === undefined) {
      if (result === "") return emptyResult({ timedOut: true, durationMs, output: "[kiln: Daytona ended the command at its own timeout; its output is lost]\n" });
      throw new AppError("internal", `Daytona: the command wrapper failed: ${result.trim().slice(0, 500)}`);
    }
    if (outcome.kind === "nocwd") throw invalidArgument("cwd", `path ${describePath(req.cwd ?? "")} is not a directory of the project`);
    const killed = outcome.timedOut || outcome.cancelled;
    return {
      exitCode: killed ? null : outcome.status,
      output: outcome.output.toString(),
      stdout: outcome.stdout.toString(),
      stderr: outcome.stderr.toString(),
      timedOut: outcome.timedOut && !outcome.cancelled,
      cancelled: outcome.cancelled,
      droppedBytes: outcome.output.droppedBytes,
      durationMs: outcome.durationMs,
    };
  }

  async startProcess(id: string, req: ProcessRequest): Promise<{ processId: string }> {
    checkProcessRequest(req);
    const cwd = safeRelativePath("cwd", req.cwd ?? "", { allowRoot: true });
    const processId = `kiln-${req.name}-${randomBytes(6).toString("hex")}`;
    const prepared = await this.script(id, "preparing a background process", prepareProcessScript(cwd));
    if (prepared.exitCode === EXIT.badCwd) throw invalidArgument("cwd", `path ${describePath(req.cwd ?? "")} is not a directory of the project`);
    if (prepared.exitCode !== 0) throw new AppError("internal", `Daytona: preparing the process failed: ${prepared.output.trim().slice(0, 500)}`);
    const clash = await this.runningProcessNamed(id, req.name);
    if (clash) throw new AppError("already_exists", `a process named ${JSON.stringify(req.name)} is already running`, { processId: clash });
    const command = processCommand(processId, cwd, req.env ?? {}, req.command);
    const { cmdId } = await this.toolbox(id, "starting a background process", async (sandbox) => {
      await sandbox.process.createSession(processId);
      return sandbox.process.executeSessionCommand(processId, { command, runAsync: true });
    });
    this.commandIds.set(processId, cmdId);
    this.log.info("daytona process started", { sandboxId: id, processId, name: req.name });
    return { processId };
  }

  /** The id of a running background process named `name` (a session of ours whose command has not ended), if any. */
  private async runningProcessNamed(id: string, name: string): Promise<string | undefined> {
    const sessions = await this.toolbox(id, "listing background processes", (sandbox) => sandbox.process.listSessions());
    const ours = new RegExp(`^kiln-${name.replace(/[.]/g, "\\.")}-[0-9a-f]{12}$`);
    return sessions.find((session) => ours.test(session.sessionId) && session.commands?.some((command) => command.exitCode == null))?.sessionId;
  }

  /** The session command of a background process; `not_found` for a process this sandbox does not have. */
  private async commandOf(sandbox: Sandbox, processId: string): Promise<string> {
    const known = this.commandIds.get(processId);
    if (known) return known;
    const session = await sandbox.process.getSession(processId);
    const first = session.commands?.[0]?.id;
    if (!first) throw notFound("process", processId);
    this.commandIds.set(processId, first);
    return first;
  }

  /** A session call, its 404 as the process's `not_found`. */
  private async onProcess<T>(id: string, processId: string, what: string, call: (sandbox: Sandbox, cmdId: string) => Promise<T>): Promise<T> {
    if (typeof processId !== "string" || !PROCESS_ID.test(processId)) {
      await this.running(id);
      throw notFound("process", String(processId));
    }
    return this.toolbox(id, what, async (sandbox) => {
      try {
        return await call(sandbox, await this.commandOf(sandbox, processId));
      } catch (err) {
        if (statusOf(err) === 404) throw notFound("process", processId);
        throw err;
      }
    });
  }

  async processLogs(id: string, processId: string, opts?: { tailBytes?: number }): Promise<ProcessLogs> {
    const tailBytes = opts?.tailBytes;
    if (tailBytes !== undefined && (!Number.isInteger(tailBytes) || tailBytes < 1)) throw invalidArgument("tailBytes", "must be a positive whole number");
    return this.onProcess(id, processId, "reading process logs", async (sandbox, cmdId) => {
      const command = await sandbox.process.getSessionCommand(processId, cmdId);
      const logs = await sandbox.process.getSessionCommandLogs(processId, cmdId);
      const all = Buffer.from(logs.output ?? `${logs.stdout ?? ""}${logs.stderr ?? ""}`);
      const output = (tailBytes === undefined ? all : all.subarray(Math.max(0, all.length - tailBytes))).toString("utf8");
      const exitCode = command.exitCode ?? null;
      return { output, running: exitCode === null, exitCode };
    });
  }

  async stopProcess(id: string, processId: string): Promise<void> {
    await this.onProcess(id, processId, "stopping a process", async (sandbox, cmdId) => {
      await sandbox.process.executeCommand(bashCommand(stopProcessScript(processId, this.graceMs)), PROJECT_DIR, undefined, 60);
      // The session notices the end of its command a moment later: wait for it (bounded), so logs say so.
      const deadline = Date.now() + this.graceMs + 5000;
      while (Date.now() < deadline) {
        if ((await sandbox.process.getSessionCommand(processId, cmdId)).exitCode != null) return;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      this.log.warn("a stopped daytona process still shows as running", { sandboxId: id, processId });
    });
  }

  async previewUrl(id: string, port: number): Promise<PreviewLink> {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw invalidArgument("port", `${port} is not a port`);
    const range = this.options.previewPorts;
    if (range && (port < range[0] || port > range[1])) throw invalidArgument("port", `${port} is outside the preview port range ${range[0]}-${range[1]}`);
    const link = await this.toolbox(id, `getting the preview link of port ${port}`, (sandbox) => sandbox.getPreviewLink(port));
    return this.options.public ? { url: link.url } : { url: link.url, token: link.token };
  }

  async health(): Promise<ProviderHealth> {
    try {
      await this.daytona.list({ labels: { [KILN_LABEL]: "true" }, limit: 1 }).next();
      return { status: "ok", detail: `Daytona API reachable${this.options.apiUrl ? ` at ${this.options.apiUrl}` : ""}` };
    } catch (err) {
      return { status: "fail", detail: daytonaFailure(err, "pinging the API").message };
    }
  }

  async close(): Promise<void> {
    await this.daytona[Symbol.asyncDispose]?.();
  }
}
