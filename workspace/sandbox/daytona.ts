import { Daytona } from "@daytonaio/sdk";
import type { PreviewAudience, RevokedPreviewLinks } from "../contract";
import { AppError, invalidArgument } from "../../lib/errors";
import type { Logger } from "../../lib/log";
import { describePath, safeRelativePath } from "../../lib/paths";
import { SandboxAccess } from "./daytona-access";
import { ActivityKeeper } from "./daytona-activity";
import { runCommand } from "./daytona-commands";
import { daytonaFailure, messageOf, STATE_CHANGE_RETRIES, type RetryPolicy } from "./daytona-errors";
import { readSandboxFiles } from "./daytona-files";
import { DaytonaLifecycle } from "./daytona-lifecycle";
import { PreviewLinks } from "./daytona-previews";
import { DaytonaProcesses } from "./daytona-processes";
import { TemplateSnapshots } from "./daytona-snapshots";
import { openDaytonaTerminal } from "./daytona-terminal";
import { chmodScript, deleteScript, diagnoseWritesScript, EXIT, listScript, parseListOutput, renameScript } from "./daytona-scripts";
import { DEPENDENCY_DIR } from "./dependency-cache";
import { checkWrites } from "./sandbox-files";
import {
  KILN_LABEL,
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
  type SandboxTerminal,
  type TerminalRequest,
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
  /** How long a template's snapshot may take to build before the workspace fails (30 min by default). */
  templateBuildTimeoutMs?: number;
  /** Between two reads of a template snapshot another Kiln is building (2 s by default). */
  templatePollMs?: number;
}

/**
 * The Daytona sandbox provider, on the real `@daytonaio/sdk`, for Daytona as it really behaves
 * (notes/daytona-real.md): sandboxes labelled as Kiln's, private by default (browsers get signed preview
 * URLs, never the standard token), auto-stopped (kept awake while in use) and auto-archived; every path
 * below the home the sandbox reports; files through the bulk upload/download endpoints (sizes checked
 * first); listings, deletes, renames and commands through the scripts of daytona-scripts.ts (long ones as
 * polled session commands); dev servers in sessions, deleted when they end. State changes wait out
 * Daytona's 409s, deletes count `destroying` as done, archived sandboxes answer `restoring`. The pieces:
 * daytona-access (reaching a sandbox), -lifecycle, -commands, -processes, -files, -previews, -activity,
 * -snapshots (templates: one snapshot per template version with its dependencies installed).
 */
export function createDaytonaProvider(options: DaytonaProviderOptions): SandboxProvider {
  return new DaytonaProvider(options);
}

class DaytonaProvider implements SandboxProvider {
  readonly name = "daytona" as const;
  private readonly access: SandboxAccess;
  private readonly lifecycle: DaytonaLifecycle;
  private readonly processes: DaytonaProcesses;
  private readonly previews: PreviewLinks;
  private readonly snapshots: TemplateSnapshots;
  private readonly log: Logger;
  private readonly graceMs: number;

  constructor(private readonly options: DaytonaProviderOptions) {
    const daytona = new Daytona({ apiKey: options.apiKey, apiUrl: options.apiUrl, target: options.target, useDeprecatedPolling: options.useDeprecatedPolling });
    this.log = options.log.child({ provider: "daytona" });
    this.graceMs = options.killGraceMs ?? 2000;
    const retries = options.retries ?? STATE_CHANGE_RETRIES;
    this.access = new SandboxAccess(daytona, {
      restoreTimeoutMs: (options.restoreTimeoutMinutes ?? 45) * 60_000,
      retries,
      afterUseMs: options.activity?.afterUseMs ?? 10 * 60_000,
    });
    if (options.autoStopMinutes > 0) {
      const interval = options.activity?.intervalMs ?? Math.min(60_000, (options.autoStopMinutes * 60_000) / 3);
      this.access.keeper = new ActivityKeeper((id) => this.access.refreshActivity(id), interval, this.log);
    }
    this.previews = new PreviewLinks(options.previewTtlSeconds ?? 3600, this.log);
    this.lifecycle = new DaytonaLifecycle(this.access, this.previews, {
      autoStopMinutes: options.autoStopMinutes,
      autoArchiveMinutes: options.autoArchiveMinutes,
      public: options.public,
      snapshot: options.snapshot,
      startTimeoutSeconds: options.startTimeoutSeconds ?? 120,
      retries,
      log: this.log,
    });
    this.processes = new DaytonaProcesses(this.access, { graceMs: this.graceMs, log: this.log });
    this.snapshots = new TemplateSnapshots(daytona, {
      buildTimeoutMs: options.templateBuildTimeoutMs ?? 30 * 60_000,
      pollMs: options.templatePollMs ?? 2000,
      retries,
      log: this.log,
    });
  }

  /**
   * A new sandbox; a template with dependencies starts from its snapshot (built on first use), and the
   * template's files arrive in one upload. A sandbox that cannot be filled is deleted again.
   */
  async create(spec: SandboxSpec): Promise<SandboxInfo> {
    const template = spec.template;
    const snapshot = template?.install && template.dependencyVersion ? await this.snapshots.ensure(template) : undefined;
    const info = await this.lifecycle.create(spec, snapshot);
    try {
      if (snapshot) {
        // The snapshot installed where its image's user keeps the project: a sandbox with another home would start without them.
        const { exitCode, output } = await this.access.script(info.id, "checking the template's dependencies", `test -d ${DEPENDENCY_DIR} || { pwd; exit 3; }`);
        if (exitCode !== 0) throw new AppError("failed_precondition", `Daytona: the sandbox from snapshot ${snapshot} has no ${DEPENDENCY_DIR} in its project directory ${output.trim()}`);
      }
      if (template && template.files.length > 0) await this.writeFiles(info.id, template.files);
    } catch (err) {
      await this.lifecycle.delete(info.id).catch((cleanup: unknown) => this.log.warn("deleting a sandbox whose template failed failed", { sandboxId: info.id, reason: messageOf(cleanup) }));
      throw err;
    }
    return info;
  }

  get(id: string): Promise<SandboxInfo> {
    return this.lifecycle.get(id);
  }

  list(): Promise<SandboxInfo[]> {
    return this.lifecycle.list();
  }

  start(id: string): Promise<SandboxInfo> {
    return this.lifecycle.start(id);
  }

  stop(id: string): Promise<SandboxInfo> {
    return this.lifecycle.stop(id);
  }

  delete(id: string): Promise<void> {
    return this.lifecycle.delete(id);
  }

  async writeFiles(id: string, files: FileWrite[]): Promise<void> {
    const checked = checkWrites(files).map((file) => ({ ...file, relative: safeRelativePath(file.field, file.path) }));
    if (checked.length === 0) {
      await this.access.running(id);
      return;
    }
    try {
      await this.access.toolbox(id, `uploading ${checked.length} files`, (sandbox, layout) =>
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
      const chmod = await this.access.script(id, "setting file modes", chmodScript(modes.map((file) => ({ path: file.relative, mode: file.mode! }))));
      if (chmod.exitCode !== 0) throw new AppError("internal", `Daytona: setting file modes failed: ${chmod.output.trim().slice(0, 500)}`);
    }
  }

  /** Which path of a refused upload is in the way (a directory at the path, a file where a directory should be). */
  private async explainFailedUpload(id: string, files: Array<{ path: string; field: string; relative: string }>, err: AppError): Promise<AppError> {
    const { output } = await this.access.script(id, "diagnosing a refused upload", diagnoseWritesScript(files.map((file) => file.relative)));
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
      await this.access.running(id);
      return [];
    }
    return this.access.toolbox(id, `reading ${paths.length} files`, (sandbox, layout) =>
      readSandboxFiles(sandbox, layout, paths, relative, this.options.maxReadBytes ?? 32 * 1024 * 1024),
    );
  }

  async listFiles(id: string, opts: ListFilesOptions): Promise<FileEntry[]> {
    const path = safeRelativePath("path", opts?.path ?? "", { allowRoot: true });
    const { exitCode, output } = await this.access.script(id, "listing files", listScript(path, opts?.recursive ?? false, opts?.hashes ?? false));
    if (exitCode === EXIT.notFound) throw new AppError("not_found", `path: path ${describePath(opts?.path ?? "")} does not exist`, { field: "path" });
    if (exitCode !== 0) throw new AppError("internal", `Daytona: listing ${describePath(path)} failed: ${output.trim().slice(0, 500)}`);
    return parseListOutput(output);
  }

  async deletePaths(id: string, paths: string[]): Promise<void> {
    if (!Array.isArray(paths)) throw invalidArgument("paths", "must be an array");
    const relative = paths.map((path, index) => safeRelativePath(`paths[${index}]`, path));
    if (relative.length === 0) {
      await this.access.running(id);
      return;
    }
    const { exitCode, output } = await this.access.script(id, "deleting files", deleteScript(relative));
    if (exitCode !== 0) throw new AppError("internal", `Daytona: deleting files failed: ${output.trim().slice(0, 500)}`);
  }

  async rename(id: string, from: string, to: string): Promise<void> {
    const source = safeRelativePath("from", from);
    const destination = safeRelativePath("to", to);
    const { exitCode, output } = await this.access.script(id, "renaming a path", renameScript(source, destination));
    if (exitCode === EXIT.notFound) throw new AppError("not_found", `from: path ${describePath(from)} does not exist`, { field: "from" });
    if (exitCode !== 0) {
      const code = /not empty/i.test(output) ? "already_exists" : "invalid_argument";
      throw new AppError(code, `to: cannot move ${describePath(from)} to ${describePath(to)}: ${output.trim().slice(0, 500)}`, { field: "to" });
    }
  }

  exec(id: string, req: ExecRequest): Promise<ExecResult> {
    return runCommand(this.access, id, req, { graceMs: this.graceMs, asyncExecAfterMs: this.options.asyncExecAfterMs ?? 45_000, log: this.log });
  }

  startProcess(id: string, req: ProcessRequest): Promise<{ processId: string }> {
    return this.processes.startProcess(id, req);
  }

  processLogs(id: string, processId: string, opts?: { tailBytes?: number }): Promise<ProcessLogs> {
    return this.processes.processLogs(id, processId, opts);
  }

  stopProcess(id: string, processId: string): Promise<void> {
    return this.processes.stopProcess(id, processId);
  }

  openTerminal(id: string, req: TerminalRequest): Promise<SandboxTerminal> {
    return openDaytonaTerminal(this.access, id, req);
  }

  async previewUrl(id: string, port: number, audience: PreviewAudience = "owner"): Promise<PreviewLink> {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw invalidArgument("port", `${port} is not a port`);
    const range = this.options.previewPorts;
    if (range && (port < range[0] || port > range[1])) throw invalidArgument("port", `${port} is outside the preview port range ${range[0]}-${range[1]}`);
    const link = await this.access.toolbox(id, `getting the preview link of port ${port}`, (sandbox) =>
      this.options.public ? this.previews.publicLink(sandbox, port) : this.previews.signedLink(sandbox, port, audience),
    );
    const keepAwake = Date.now() + (this.options.activity?.previewMs ?? 30 * 60_000);
    this.access.keeper?.extend(id, link.expiresAt ? Math.min(Date.parse(link.expiresAt), keepAwake) : keepAwake);
    return link;
  }

  /** Revokes the signed links of `audience` in any state of the sandbox (one stopped behind Kiln's back may start again with them); public previews have none. */
  async revokePreviewLinks(id: string, audience: PreviewAudience): Promise<RevokedPreviewLinks> {
    if (this.options.public) return { revoked: 0, pending: 0 };
    return this.previews.revoke(await this.access.fetch(id), audience);
  }

  async health(): Promise<ProviderHealth> {
    try {
      await this.access.daytona.list({ labels: { [KILN_LABEL]: "true" }, limit: 1 }).next();
      return { status: "ok", detail: `Daytona API reachable${this.options.apiUrl ? ` at ${this.options.apiUrl}` : ""}` };
    } catch (err) {
      return { status: "fail", detail: daytonaFailure(err, "pinging the API").message };
    }
  }

  async close(): Promise<void> {
    this.access.keeper?.close();
    await this.access.daytona[Symbol.asyncDispose]?.();
  }
}
