import { randomBytes } from "node:crypto";
import { Daytona, DaytonaTimeoutError, type Sandbox } from "@daytonaio/sdk";
import { AppError, invalidArgument, notFound } from "../../lib/errors";
import type { Logger } from "../../lib/log";
import { describePath, safeRelativePath } from "../../lib/paths";
import { checkExecRequest, checkProcessRequest } from "./command-checks";
import { ActivityKeeper } from "./daytona-activity";
import { daytonaFailure, failedStartReason, isRetryable, messageOf, retrying, statusOf, STATE_CHANGE_RETRIES, type RetryPolicy } from "./daytona-errors";
import { readSandboxFiles } from "./daytona-files";
import { PreviewLinks } from "./daytona-previews";
import {
  bashCommand,
  cancelExecScript,
  chmodScript,
  deleteScript,
  diagnoseWritesScript,
  execScript,
  EXIT,
  layoutOf,
  listScript,
  parseExecOutput,
  parseListOutput,
  parsePreflight,
  preflightScript,
  prepareProcessScript,
  processCommand,
  renameScript,
  sessionExecCommand,
  stopProcessScript,
  type SandboxLayout,
} from "./daytona-scripts";
import { cleanLogs, EndedProcesses, runInSession, tailOf } from "./daytona-sessions";
import { infoOf, stateOf } from "./daytona-state";
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
  type SandboxSpec,
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
  /** Minutes a stopped sandbox stays before Daytona archives it (Daytona caps it at 43200). */
  autoArchiveMinutes: number;
  /** Public previews (anyone with the URL); private by default, reached through signed preview URLs. */
  public: boolean;
  /** When set, preview links are only given for these ports (inclusive). */
  previewPorts?: [number, number];
  /** A snapshot to create sandboxes from (Daytona's default when unset); its image decides the user and home. */
  snapshot?: string;
  log: Logger;
  /** Poll sandbox states over HTTP instead of a socket.io connection (tests against the fake). */
  useDeprecatedPolling?: boolean;
  /** How long create, start and stop wait for their state (120 s by default). */
  startTimeoutSeconds?: number;
  /** How long an archived sandbox may take to restore before it counts as failed (45 min by default). */
  restoreTimeoutMinutes?: number;
  /** How long a signed preview URL is valid (3600 s by default; 60 to 86400). */
  previewTtlSeconds?: number;
  /** Between SIGTERM and SIGKILL when a command is killed (2 s by default). */
  killGraceMs?: number;
  /** The largest file `readFiles` returns (32 MiB by default). */
  maxReadBytes?: number;
  /** Commands allowed to run at least this long go as async session commands, polled (45 s by default: proxies cut long requests). */
  asyncExecAfterMs?: number;
  /** Keeping sandboxes awake while in use; off when auto-stop is off. */
  activity?: {
    /** Between two refreshes (60 s by default, at most a third of the auto-stop time). */
    intervalMs?: number;
    /** Awake for this long after each use (10 min by default): a job's model turns between tool calls. */
    afterUseMs?: number;
    /** Awake for this long after a preview link was handed out, never past its expiry (30 min by default). */
    previewMs?: number;
  };
  /** Waits on 409/429 answers ({@link STATE_CHANGE_RETRIES} by default). */
  retries?: RetryPolicy;
}

/** Seconds Daytona's own execute timeout allows beyond ours, so ours (which keeps the output) fires first. */
const EXECUTE_BACKSTOP_SECONDS = 15;
/** How long a start waits for an archived sandbox before answering `restoring` (restores take minutes). */
const ARCHIVED_START_WAIT_SECONDS = 5;
/** How long `list` hides a sandbox this provider deleted: Daytona's list shows deleted ones as started for a while. */
const TOMBSTONE_MS = 15 * 60_000;
const MAX_LABEL_VALUE = 200;
/** Daytona ids and names as accepted in a URL path segment. */
const SANDBOX_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** Background processes' sessions; async commands' sessions are `kilnx-<execId>`. */
const PROCESS_ID = /^kiln-[A-Za-z0-9._-]{1,100}$/;
const OUR_SESSION = /^kilnx?-/;

function checkLabelValue(field: string, value: unknown): void {
  if (typeof value !== "string" || value === "" || value.length > MAX_LABEL_VALUE) {
    throw invalidArgument(field, `must be a non-empty string of at most ${MAX_LABEL_VALUE} characters`);
  }
}

function emptyResult(over: Partial<ExecResult>): ExecResult {
  return { exitCode: null, output: "", stdout: "", stderr: "", timedOut: false, cancelled: false, droppedBytes: 0, durationMs: 0, ...over };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The Daytona sandbox provider, on the real `@daytonaio/sdk`, for Daytona as it really behaves
 * (notes/daytona-real.md): sandboxes labelled as Kiln's, private by default (browsers get signed preview
 * URLs, never the standard token), auto-stopped (kept awake while in use) and auto-archived; every path
 * below the home the sandbox reports; files through the bulk upload/download endpoints (sizes checked
 * first); listings, deletes, renames and commands through the scripts of daytona-scripts.ts (long ones as
 * polled session commands); dev servers in sessions, deleted when they end. State changes wait out
 * Daytona's 409s, deletes count `destroying` as done, archived sandboxes answer `restoring`.
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
  /** Each sandbox's home and the places below it, asked once per sandbox (with the image's preflight). */
  private readonly layouts = new Map<string, Promise<SandboxLayout>>();
  /** The session command of each background process this provider started. */
  private readonly commandIds = new Map<string, string>();
  private readonly ended = new EndedProcesses();
  /** Sandboxes this provider deleted, and when (Daytona's list still shows them for a while). */
  private readonly tombstones = new Map<string, number>();
  private readonly previews: PreviewLinks;
  private readonly keeper: ActivityKeeper | undefined;
  private readonly graceMs: number;
  private readonly startTimeout: number;
  private readonly retries: RetryPolicy;

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
    this.retries = options.retries ?? STATE_CHANGE_RETRIES;
    this.previews = new PreviewLinks(options.previewTtlSeconds ?? 3600, this.log);
    if (options.autoStopMinutes > 0) {
      const interval = options.activity?.intervalMs ?? Math.min(60_000, (options.autoStopMinutes * 60_000) / 3);
      this.keeper = new ActivityKeeper((id) => this.refreshActivity(id), interval, this.log);
    }
  }

  private info(sandbox: Sandbox): SandboxInfo {
    return infoOf(sandbox, { timeoutMs: (this.options.restoreTimeoutMinutes ?? 45) * 60_000, now: Date.now() });
  }

  private async refreshActivity(id: string): Promise<void> {
    const sandbox = this.sandboxes.get(id) ?? (await this.fetch(id));
    await sandbox.refreshActivity().catch((err: unknown) => {
      throw statusOf(err) === 404 ? notFound("sandbox", id) : err;
    });
  }

  /** The sandbox as Daytona knows it now; `not_found` when it no longer exists. */
  private async fetch(id: string): Promise<Sandbox> {
    if (typeof id !== "string" || !SANDBOX_ID.test(id)) throw notFound("sandbox", String(id));
    try {
      const sandbox = await retrying(() => this.daytona.get(id), this.retries);
      this.sandboxes.set(id, sandbox);
      return sandbox;
    } catch (err) {
      this.sandboxes.delete(id);
      if (statusOf(err) === 404) throw notFound("sandbox", id);
      throw daytonaFailure(err, `reading sandbox ${id}`);
    }
  }

  private notRunning(sandbox: Sandbox): AppError {
    const info = this.info(sandbox);
    if (info.state === "gone") return notFound("sandbox", sandbox.id);
    const reason = info.error ? ` (${info.error})` : "";
    return new AppError("failed_precondition", `sandbox ${JSON.stringify(sandbox.id)} is ${info.state}${reason}; start it first`, { state: info.state });
  }

  /** A started sandbox that is meant to stay started: the cached object when it was, else a fresh read. */
  private async running(id: string): Promise<Sandbox> {
    const cached = this.sandboxes.get(id);
    if (cached && stateOf(cached.state, cached.desiredState) === "running") return cached;
    const sandbox = await this.fetch(id);
    if (stateOf(sandbox.state, sandbox.desiredState) !== "running") throw this.notRunning(sandbox);
    return sandbox;
  }

  /**
   * Where the sandbox keeps things: its user's home as the daemon reports it (root's on `node:*` images),
   * checked once per sandbox together with what the image must have for the scripts (a clear
   * `failed_precondition` naming what is missing, remembered; other failures are asked again next time).
   */
  private layout(sandbox: Sandbox): Promise<SandboxLayout> {
    let layout = this.layouts.get(sandbox.id);
    if (!layout) {
      layout = (async () => {
        const home = await sandbox.getUserHomeDir().catch((err: unknown) => {
          throw daytonaFailure(err, `asking sandbox ${sandbox.id} for its home directory`);
        });
        const found = layoutOf(home);
        const checked = await sandbox.process.executeCommand(bashCommand(preflightScript()), found.home, undefined, 60);
        const missing = parsePreflight(checked.result);
        if (missing.length > 0) {
          throw new AppError(
            "failed_precondition",
            `Daytona: the image of sandbox ${sandbox.id} lacks what Kiln's scripts need: ${missing.join(", ")}; use a Debian or Ubuntu based image (Daytona's default snapshot, node:<version>-bookworm or -slim)`,
            { missing },
          );
        }
        return found;
      })();
      this.layouts.set(sandbox.id, layout);
      layout.catch((err: unknown) => {
        if (!(err instanceof AppError && err.code === "failed_precondition")) this.layouts.delete(sandbox.id);
      });
    }
    return layout;
  }

  /**
   * A toolbox call on a started sandbox, in its layout; the sandbox stays awake a while after it. On
   * failure the sandbox is read again: gone is `not_found`, no longer started is `failed_precondition`.
   */
  private async toolbox<T>(id: string, what: string, call: (sandbox: Sandbox, layout: SandboxLayout) => Promise<T>): Promise<T> {
    const sandbox = await this.running(id);
    try {
      const layout = await this.layout(sandbox);
      this.keeper?.extend(id, Date.now() + (this.options.activity?.afterUseMs ?? 10 * 60_000));
      return await call(sandbox, layout);
    } catch (err) {
      if (err instanceof AppError) throw err;
      this.sandboxes.delete(id);
      const fresh = await this.fetch(id);
      if (stateOf(fresh.state, fresh.desiredState) !== "running") throw this.notRunning(fresh);
      throw daytonaFailure(err, what);
    }
  }

  /** Runs a script in the project directory; its exit code and output (capped by the script itself). */
  private async script(id: string, what: string, script: string): Promise<{ exitCode: number; output: string }> {
    const response = await this.toolbox(id, what, (sandbox, layout) => sandbox.process.executeCommand(bashCommand(script), layout.project, undefined, 600));
    return { exitCode: response.exitCode, output: response.result };
  }

  /**
   * Repeats `step` on a fresh read of the sandbox until it answers (a state change is done), waiting out
   * Daytona's 409s and 429s with a growing pause, for at most the start timeout.
   */
  private async settle(id: string, what: string, step: (sandbox: Sandbox, remainingSeconds: number) => Promise<SandboxInfo | undefined>): Promise<SandboxInfo> {
    const deadline = Date.now() + this.startTimeout * 1000;
    for (let attempt = 0; ; attempt++) {
      const sandbox = await this.fetch(id);
      const remaining = Math.max(1, (deadline - Date.now()) / 1000);
      try {
        const done = await step(sandbox, remaining);
        if (done) return done;
      } catch (err) {
        this.sandboxes.delete(id);
        if (err instanceof AppError) throw err;
        if (!isRetryable(err) || Date.now() >= deadline) throw daytonaFailure(err, `${what} (it was ${sandbox.state})`);
      }
      if (Date.now() >= deadline) throw new AppError("deadline_exceeded", `Daytona: ${what} did not finish within ${this.startTimeout} s (the sandbox is ${sandbox.state})`);
      await sleep(Math.min(this.retries.maxMs, this.retries.baseMs * 2 ** Math.min(attempt, 10)));
    }
  }

  async create(spec: SandboxSpec): Promise<SandboxInfo> {
    checkLabelValue("workspaceId", spec.workspaceId);
    checkLabelValue("projectId", spec.projectId);
    let sandbox: Sandbox;
    try {
      sandbox = await retrying(
        () =>
          this.daytona.create(
            {
              language: "typescript",
              labels: kilnLabels(spec),
              autoStopInterval: this.options.autoStopMinutes,
              autoArchiveInterval: this.options.autoArchiveMinutes,
              public: this.options.public,
              ...(this.options.snapshot ? { snapshot: this.options.snapshot } : {}),
            },
            { timeout: this.startTimeout },
          ),
        this.retries,
      );
    } catch (err) {
      const reason = failedStartReason(err);
      if (reason === undefined) throw daytonaFailure(err, `creating a sandbox for workspace ${spec.workspaceId}`);
      await this.removeFailed(spec.workspaceId);
      throw new AppError("failed_precondition", `Daytona: the new sandbox did not start: ${reason}`, { workspaceId: spec.workspaceId });
    }
    this.sandboxes.set(sandbox.id, sandbox);
    try {
      await this.toolbox(sandbox.id, "creating the project directory", (started, layout) => started.fs.createFolder(layout.project, "755"));
    } catch (err) {
      // A sandbox that cannot serve (an image without bash or GNU tools, a home it cannot use) is not kept.
      await this.delete(sandbox.id).catch((cleanup: unknown) => this.log.warn("deleting a sandbox that failed to set up failed", { sandboxId: sandbox.id, reason: messageOf(cleanup) }));
      throw err;
    }
    // Templates reach Daytona as snapshots (issue 13's Daytona part): until then a Daytona sandbox starts empty.
    this.log.info("daytona sandbox created", { sandboxId: sandbox.id, workspaceId: spec.workspaceId, templateNotApplied: spec.template?.name });
    return this.info(sandbox);
  }

  /** Deletes the sandboxes a failed create left in error (they count against the organisation's quota); best effort. */
  private async removeFailed(workspaceId: string): Promise<void> {
    try {
      for await (const left of this.daytona.list({ labels: { [KILN_LABEL]: "true", "kiln.workspace": workspaceId } })) {
        if (this.info(left).state === "error") await this.delete(left.id).catch((err: unknown) => this.log.warn("deleting a sandbox that failed to start failed", { sandboxId: left.id, reason: messageOf(err) }));
      }
    } catch (err) {
      this.log.warn("finding the sandbox that failed to start failed", { workspaceId, reason: messageOf(err) });
    }
  }

  async get(id: string): Promise<SandboxInfo> {
    try {
      return this.info(await this.fetch(id));
    } catch (err) {
      if (err instanceof AppError && err.code === "not_found") return { id, state: "gone", labels: {} };
      throw err;
    }
  }

  async list(): Promise<SandboxInfo[]> {
    const now = Date.now();
    for (const [id, deletedAt] of this.tombstones) if (now - deletedAt > TOMBSTONE_MS) this.tombstones.delete(id);
    const found: SandboxInfo[] = [];
    try {
      for await (const sandbox of this.daytona.list({ labels: { [KILN_LABEL]: "true" } })) {
        const info = this.info(sandbox);
        if (info.state !== "gone" && !this.tombstones.has(sandbox.id)) found.push(info);
      }
    } catch (err) {
      throw daytonaFailure(err, "listing Kiln's sandboxes");
    }
    return found;
  }

  async start(id: string): Promise<SandboxInfo> {
    const info = await this.settle(id, `starting sandbox ${id}`, async (sandbox, remaining) => {
      const current = this.info(sandbox);
      if (current.state === "running" || current.state === "restoring") return current;
      if (current.state === "gone") throw notFound("sandbox", id);
      if (current.state === "error") throw this.notRunning(sandbox);
      if (current.state === "creating") {
        await sandbox.waitUntilStarted(remaining);
        return this.info(sandbox);
      }
      // Still on its way to stopped (auto-stop, a stop elsewhere): let it get there, then start it.
      if (sandbox.state !== "stopped" && sandbox.state !== "archived") return undefined;
      if (sandbox.state === "stopped") {
        await sandbox.start(remaining);
        return this.info(sandbox);
      }
      try {
        await sandbox.start(ARCHIVED_START_WAIT_SECONDS);
      } catch (err) {
        if (!(err instanceof DaytonaTimeoutError)) throw err;
      }
      return this.info(sandbox);
    });
    this.log.info("daytona sandbox started", { sandboxId: id, state: info.state });
    return info;
  }

  async stop(id: string): Promise<SandboxInfo> {
    return this.settle(id, `stopping sandbox ${id}`, async (sandbox, remaining) => {
      const current = this.info(sandbox);
      if (current.state === "gone") throw notFound("sandbox", id);
      if (sandbox.state === "started" && sandbox.desiredState !== "stopped") {
        this.keeper?.drop(id);
        await this.previews.revokeAll(sandbox);
        await sandbox.stop(remaining);
        return this.info(sandbox);
      }
      if (sandbox.state === "started" || sandbox.state === "stopping") {
        await sandbox.waitUntilStopped(remaining);
        return this.info(sandbox);
      }
      // Starting or restoring: a stop now would answer 409; wait for it to settle.
      return current.state === "creating" || current.state === "restoring" ? undefined : current;
    });
  }

  async delete(id: string): Promise<void> {
    const sandbox = await this.fetch(id);
    if (this.info(sandbox).state === "gone") throw notFound("sandbox", id);
    this.keeper?.drop(id);
    const deleted = async (): Promise<boolean> => {
      try {
        await sandbox.delete();
        return true;
      } catch (err) {
        const status = statusOf(err);
        if (status === 404) return true;
        if (status !== 409) throw err;
        // Deleted by another caller meanwhile (a second delete answers 409), or a state change in the way.
        const again = await this.get(id);
        if (again.state === "gone") return true;
        throw err;
      }
    };
    try {
      await retrying(deleted, this.retries);
    } catch (err) {
      throw daytonaFailure(err, `deleting sandbox ${id}`);
    } finally {
      this.sandboxes.delete(id);
    }
    this.tombstones.set(id, Date.now());
    this.layouts.delete(id);
    this.previews.forget(id);
    this.log.info("daytona sandbox deleted", { sandboxId: id });
  }

  async writeFiles(id: string, files: FileWrite[]): Promise<void> {
    const checked = checkWrites(files).map((file) => ({ ...file, relative: safeRelativePath(file.field, file.path) }));
    if (checked.length === 0) {
      await this.running(id);
      return;
    }
    try {
      await this.toolbox(id, `uploading ${checked.length} files`, (sandbox, layout) =>
        sandbox.fs.uploadFiles(checked.map((file) => ({ source: Buffer.from(file.content), destination: `${layout.project}/${file.relative}` }))),
      );
    } catch (err) {
      // Refused by Daytona while the sandbox runs (not a state or transport problem): find the path in the way.
      // Daytona's uploads are not atomic: the other files of the batch may have been written.
      if (!(err instanceof AppError) || err.details?.daytonaStatus === undefined) throw err;
      throw await this.explainFailedUpload(id, checked, err);
    }
    const modes = checked.filter((_, index) => files[index]!.mode !== undefined);
    if (modes.length > 0) {
      const chmod = await this.script(id, "setting file modes", chmodScript(modes.map((file) => ({ path: file.relative, mode: file.mode! }))));
      if (chmod.exitCode !== 0) throw new AppError("internal", `Daytona: setting file modes failed: ${chmod.output.trim().slice(0, 500)}`);
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
    return this.toolbox(id, `reading ${paths.length} files`, (sandbox, layout) =>
      readSandboxFiles(sandbox, layout, paths, relative, this.options.maxReadBytes ?? 32 * 1024 * 1024),
    );
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
    const onAbort = () => {
      void this.layout(sandbox)
        .then((layout) => sandbox.process.executeCommand(bashCommand(cancelExecScript(execId, this.graceMs)), layout.project, undefined, 60))
        .catch((err: unknown) => this.log.warn("cancelling a daytona command failed", { sandboxId: id, reason: messageOf(err) }));
    };
    req.signal?.addEventListener("abort", onAbort, { once: true });
    const release = this.keeper?.lease(id);
    const started = performance.now();
    let result: string;
    try {
      const longRunning = req.timeoutMs >= (this.options.asyncExecAfterMs ?? 45_000);
      result = await this.toolbox(id, "running a command", (current, layout) =>
        longRunning ? this.execInSession(current, layout, execId, script, req) : this.execInRequest(current, layout, script, req),
      );
    } finally {
      release?.();
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

  /** A short command in one request; Daytona's own timeout (408) loses the output: an empty result. */
  private async execInRequest(sandbox: Sandbox, layout: SandboxLayout, script: string, req: ExecRequest): Promise<string> {
    const backstop = Math.ceil((req.timeoutMs + this.graceMs) / 1000) + EXECUTE_BACKSTOP_SECONDS;
    try {
      const response = await sandbox.process.executeCommand(bashCommand(script), layout.project, req.env, backstop);
      // A cwd the daemon cannot enter never runs the command: exitCode -1 and nothing printed.
      if (response.exitCode === -1 && response.result === "") throw new AppError("internal", `Daytona could not run a command (exit code -1): the project directory ${layout.project} is missing`);
      return response.result;
    } catch (err) {
      if (statusOf(err) === 408) return "";
      throw err;
    }
  }

  /** A long command as an async session command, polled to its end; the cancel path kills it as it kills any exec. */
  private async execInSession(sandbox: Sandbox, layout: SandboxLayout, execId: string, script: string, req: ExecRequest): Promise<string> {
    const deadlineMs = Date.now() + req.timeoutMs + this.graceMs + EXECUTE_BACKSTOP_SECONDS * 1000;
    const run = await runInSession(sandbox, { sessionId: `kilnx-${execId}`, command: sessionExecCommand(layout, req.env ?? {}, script), deadlineMs }, this.log);
    return run.finished ? (run.stdout ?? run.output) : "";
  }

  async startProcess(id: string, req: ProcessRequest): Promise<{ processId: string }> {
    checkProcessRequest(req);
    const cwd = safeRelativePath("cwd", req.cwd ?? "", { allowRoot: true });
    const processId = `kiln-${req.name}-${randomBytes(6).toString("hex")}`;
    const layout = await this.layout(await this.running(id));
    const prepared = await this.script(id, "preparing a background process", prepareProcessScript(layout, cwd));
    if (prepared.exitCode === EXIT.badCwd) throw invalidArgument("cwd", `path ${describePath(req.cwd ?? "")} is not a directory of the project`);
    if (prepared.exitCode !== 0) throw new AppError("internal", `Daytona: preparing the process failed: ${prepared.output.trim().slice(0, 500)}`);
    const clash = await this.sweepSessions(id, req.name);
    if (clash) throw new AppError("already_exists", `a process named ${JSON.stringify(req.name)} is already running`, { processId: clash });
    const command = processCommand(layout, processId, cwd, req.env ?? {}, req.command);
    const { cmdId } = await this.toolbox(id, "starting a background process", async (sandbox) => {
      await sandbox.process.createSession(processId);
      return sandbox.process.executeSessionCommand(processId, { command, runAsync: true });
    });
    if (cmdId) this.commandIds.set(processId, cmdId);
    this.log.info("daytona process started", { sandboxId: id, processId, name: req.name });
    return { processId };
  }

  /**
   * Deletes the sessions of Kiln's that have ended (a replaced dev server, a command whose provider
   * died); answers the id of a running process named `name`, if there is one.
   */
  private async sweepSessions(id: string, name: string): Promise<string | undefined> {
    return this.toolbox(id, "listing background processes", async (sandbox) => {
      const named = new RegExp(`^kiln-${name.replace(/[.]/g, "\\.")}-[0-9a-f]{12}$`);
      let running: string | undefined;
      for (const session of await sandbox.process.listSessions()) {
        if (!OUR_SESSION.test(session.sessionId)) continue;
        const live = session.commands?.some((command) => command.exitCode == null) ?? false;
        if (live) {
          if (named.test(session.sessionId)) running = session.sessionId;
          continue;
        }
        await sandbox.process.deleteSession(session.sessionId).catch((err: unknown) => this.log.warn("deleting an ended session failed", { sandboxId: id, sessionId: session.sessionId, reason: messageOf(err) }));
      }
      return running;
    });
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
  private async onProcess<T>(id: string, processId: string, what: string, call: (sandbox: Sandbox, cmdId: string, layout: SandboxLayout) => Promise<T>): Promise<T> {
    if (typeof processId !== "string" || !PROCESS_ID.test(processId)) {
      await this.running(id);
      throw notFound("process", String(processId));
    }
    return this.toolbox(id, what, async (sandbox, layout) => {
      try {
        return await call(sandbox, await this.commandOf(sandbox, processId), layout);
      } catch (err) {
        if (statusOf(err) === 404) throw notFound("process", processId);
        throw err;
      }
    });
  }

  /** Remembers how a process ended and deletes its session (its shell and logs would stay otherwise). */
  private async retire(sandbox: Sandbox, processId: string, output: string, exitCode: number | null): Promise<void> {
    this.ended.remember(processId, output, exitCode);
    this.commandIds.delete(processId);
    await sandbox.process.deleteSession(processId).catch((err: unknown) => this.log.warn("deleting an ended session failed", { sandboxId: sandbox.id, sessionId: processId, reason: messageOf(err) }));
  }

  async processLogs(id: string, processId: string, opts?: { tailBytes?: number }): Promise<ProcessLogs> {
    const tailBytes = opts?.tailBytes;
    if (tailBytes !== undefined && (!Number.isInteger(tailBytes) || tailBytes < 1)) throw invalidArgument("tailBytes", "must be a positive whole number");
    const ended = this.ended.get(processId);
    if (ended) {
      await this.running(id);
      return { output: tailOf(ended.output, tailBytes), running: false, exitCode: ended.exitCode };
    }
    return this.onProcess(id, processId, "reading process logs", async (sandbox, cmdId) => {
      const command = await sandbox.process.getSessionCommand(processId, cmdId);
      const output = cleanLogs(await sandbox.process.getSessionCommandLogs(processId, cmdId));
      const exitCode = command.exitCode ?? null;
      if (exitCode !== null) await this.retire(sandbox, processId, output, exitCode);
      return { output: tailOf(output, tailBytes), running: exitCode === null, exitCode };
    });
  }

  async stopProcess(id: string, processId: string): Promise<void> {
    if (this.ended.get(processId)) {
      await this.running(id);
      return;
    }
    await this.onProcess(id, processId, "stopping a process", async (sandbox, cmdId, layout) => {
      await sandbox.process.executeCommand(bashCommand(stopProcessScript(layout, processId, this.graceMs)), layout.project, undefined, 60);
      // The session notices the end of its command a moment later: wait for it (bounded), so logs say so.
      const deadline = Date.now() + this.graceMs + 5000;
      let exitCode: number | null = null;
      while (exitCode === null && Date.now() < deadline) {
        exitCode = (await sandbox.process.getSessionCommand(processId, cmdId)).exitCode ?? null;
        if (exitCode === null) await sleep(50);
      }
      if (exitCode === null) this.log.warn("a stopped daytona process still shows as running", { sandboxId: id, processId });
      const output = cleanLogs(await sandbox.process.getSessionCommandLogs(processId, cmdId));
      await this.retire(sandbox, processId, output, exitCode);
    });
  }

  async previewUrl(id: string, port: number): Promise<PreviewLink> {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw invalidArgument("port", `${port} is not a port`);
    const range = this.options.previewPorts;
    if (range && (port < range[0] || port > range[1])) throw invalidArgument("port", `${port} is outside the preview port range ${range[0]}-${range[1]}`);
    const link = await this.toolbox(id, `getting the preview link of port ${port}`, (sandbox) =>
      this.options.public ? this.previews.publicLink(sandbox, port) : this.previews.signedLink(sandbox, port),
    );
    const keepAwake = Date.now() + (this.options.activity?.previewMs ?? 30 * 60_000);
    this.keeper?.extend(id, link.expiresAt ? Math.min(Date.parse(link.expiresAt), keepAwake) : keepAwake);
    return link;
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
    this.keeper?.close();
    await this.daytona[Symbol.asyncDispose]?.();
  }
}
