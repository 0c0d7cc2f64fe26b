import { constants } from "node:fs";
import { access, mkdir, realpath, stat } from "node:fs/promises";
import { AppError, invalidArgument, notFound } from "../../lib/errors";
import type { Logger } from "../../lib/log";
import { describePath } from "../../lib/paths";
import { relativePosix, resolveInside } from "../paths";
import { checkExecRequest, checkProcessRequest } from "./command-checks";
import { chooseLauncher, type Launcher } from "./launch";
import { ProcessTable } from "./process-table";
import { deleteProjectPaths, listProjectFiles, readProjectFiles, renameProjectPath, writeProjectFiles } from "./project-files";
import {
  KILN_LABEL,
  kilnLabels,
  type ExecRequest,
  type FileWrite,
  type ListFilesOptions,
  type ProcessRequest,
  type SandboxInfo,
  type SandboxProvider,
} from "./provider";
import { infoOf, SandboxStore, type SandboxRecord } from "./sandbox-store";

/** Configuration of the local sandbox provider. */
export interface LocalProviderOptions {
  /** The data directory holding one directory per sandbox. */
  root: string;
  /** The ports dev servers may listen on, inclusive; preview URLs are only given for these. */
  portRange: [number, number];
  /** The host the browser of the person running Kiln reaches the dev servers on (127.0.0.1 by default). */
  previewHost?: string;
  log: Logger;
  /** Isolate commands with bubblewrap: true requires it, false turns it off, unset uses it when it works. */
  useBubblewrap?: boolean;
  /** Between SIGTERM and SIGKILL when a command is killed (2 s by default). */
  killGraceMs?: number;
  /** The largest file `readFiles` returns (32 MiB by default). */
  maxReadBytes?: number;
}

const MAX_LABEL_VALUE = 200;

function checkPortRange([low, high]: [number, number]): void {
  const isPort = (port: number) => Number.isInteger(port) && port >= 1 && port <= 65535;
  if (!isPort(low) || !isPort(high) || low > high) throw invalidArgument("portRange", `[${low}, ${high}] is not a range of ports`);
}

function checkLabelValue(field: string, value: unknown): void {
  if (typeof value !== "string" || value === "" || value.length > MAX_LABEL_VALUE) {
    throw invalidArgument(field, `must be a non-empty string of at most ${MAX_LABEL_VALUE} characters`);
  }
}

/**
 * The local sandbox provider: a directory per sandbox under `root` (`<id>/project`, with its state and
 * labels in `<id>/sandbox.json`, so it survives a restart), commands as `bash -lc` in their own process
 * group, isolated with bubblewrap when it works (see workspace/sandbox/bwrap.ts), dev servers on the host's
 * loopback network. Without bubblewrap it still runs, with a warning in the log and in `health()`.
 */
export async function createLocalProvider(options: LocalProviderOptions): Promise<SandboxProvider> {
  checkPortRange(options.portRange);
  await mkdir(options.root, { recursive: true });
  const root = await realpath(options.root);
  const log = options.log.child({ provider: "local" });
  const { launcher, warning } = await chooseLauncher(options.useBubblewrap, root);
  if (warning) log.warn(warning);
  else log.info("local sandboxes isolated with bubblewrap", { root });
  return new LocalProvider(root, options, launcher, warning, log);
}

class LocalProvider implements SandboxProvider {
  readonly name = "local" as const;
  private readonly store: SandboxStore;
  private readonly processes: ProcessTable;
  private closed = false;

  constructor(
    private readonly root: string,
    private readonly options: LocalProviderOptions,
    private readonly launcher: Launcher,
    private readonly isolationWarning: string | undefined,
    private readonly log: Logger,
  ) {
    this.store = new SandboxStore(root, log);
    this.processes = new ProcessTable(options.killGraceMs ?? 2000);
  }

  private ensureOpen(): void {
    if (this.closed) throw new AppError("unavailable", "the local sandbox provider is closed");
  }

  private async record(id: string): Promise<SandboxRecord> {
    this.ensureOpen();
    const record = await this.store.read(id);
    if (!record) throw notFound("sandbox", String(id));
    return record;
  }

  /** The project directory of a running sandbox. */
  private async running(id: string): Promise<string> {
    const record = await this.record(id);
    if (record.state !== "running") {
      throw new AppError("failed_precondition", `sandbox ${JSON.stringify(id)} is ${record.state}; start it first`, { state: record.state });
    }
    return this.store.projectDir(id);
  }

  /** A command's working directory as a path relative to the project, which must be an existing directory. */
  private async commandCwd(projectDir: string, cwd: string | undefined): Promise<string> {
    const resolved = await resolveInside(projectDir, cwd ?? "", { field: "cwd" });
    const isDir = await stat(resolved).then((stats) => stats.isDirectory(), () => false);
    if (!isDir) throw invalidArgument("cwd", `path ${describePath(cwd ?? "")} is not a directory of the project`);
    return relativePosix(projectDir, resolved);
  }

  async create(spec: { workspaceId: string; projectId: string }): Promise<SandboxInfo> {
    checkLabelValue("workspaceId", spec.workspaceId);
    checkLabelValue("projectId", spec.projectId);
    this.ensureOpen();
    const record = await this.store.create(kilnLabels(spec));
    this.log.info("local sandbox created", { sandboxId: record.id, workspaceId: spec.workspaceId });
    return infoOf(record);
  }

  async get(id: string): Promise<SandboxInfo> {
    const record = await this.store.read(id);
    return record ? infoOf(record) : { id, state: "gone", labels: {} };
  }

  async list(): Promise<SandboxInfo[]> {
    return (await this.store.list()).filter((record) => record.labels[KILN_LABEL] === "true").map(infoOf);
  }

  async start(id: string): Promise<SandboxInfo> {
    return infoOf(await this.store.update(await this.record(id), "running"));
  }

  async stop(id: string): Promise<SandboxInfo> {
    const stopped = await this.store.update(await this.record(id), "stopped");
    await this.processes.stopSandbox(id, false);
    return infoOf(stopped);
  }

  async delete(id: string): Promise<void> {
    await this.record(id);
    await this.processes.stopSandbox(id, true);
    await this.store.remove(id);
    this.log.info("local sandbox deleted", { sandboxId: id });
  }

  async writeFiles(id: string, files: FileWrite[]): Promise<void> {
    await writeProjectFiles(await this.running(id), files);
  }

  async readFiles(id: string, paths: string[]) {
    return readProjectFiles(await this.running(id), paths, this.options.maxReadBytes ?? 32 * 1024 * 1024);
  }

  async listFiles(id: string, opts: ListFilesOptions) {
    return listProjectFiles(await this.running(id), opts ?? {});
  }

  async deletePaths(id: string, paths: string[]): Promise<void> {
    await deleteProjectPaths(await this.running(id), paths);
  }

  async rename(id: string, from: string, to: string): Promise<void> {
    await renameProjectPath(await this.running(id), from, to);
  }

  async exec(id: string, req: ExecRequest) {
    checkExecRequest(req);
    const projectDir = await this.running(id);
    const cwd = await this.commandCwd(projectDir, req.cwd);
    const spec = this.launcher.launch(projectDir, cwd, req.env ?? {}, req.command);
    return this.processes.run(id, spec, { timeoutMs: req.timeoutMs, maxOutputBytes: req.maxOutputBytes, signal: req.signal });
  }

  async startProcess(id: string, req: ProcessRequest) {
    checkProcessRequest(req);
    const projectDir = await this.running(id);
    const cwd = await this.commandCwd(projectDir, req.cwd);
    const processId = this.processes.start(id, req.name, this.launcher.launch(projectDir, cwd, req.env ?? {}, req.command));
    this.log.info("sandbox process started", { sandboxId: id, processId, name: req.name });
    return { processId };
  }

  async processLogs(id: string, processId: string, opts?: { tailBytes?: number }) {
    await this.record(id);
    return this.processes.logs(id, processId, opts?.tailBytes);
  }

  async stopProcess(id: string, processId: string): Promise<void> {
    await this.record(id);
    await this.processes.stop(id, processId);
  }

  async previewUrl(id: string, port: number) {
    await this.running(id);
    const [low, high] = this.options.portRange;
    if (!Number.isInteger(port) || port < low || port > high) throw invalidArgument("port", `${port} is outside the preview port range ${low}-${high}`);
    const host = this.options.previewHost ?? "127.0.0.1";
    return { url: `http://${host.includes(":") ? `[${host}]` : host}:${port}` };
  }

  async health() {
    try {
      await access(this.root, constants.W_OK);
    } catch (err) {
      return { status: "fail" as const, detail: `the sandbox data directory is not writable: ${(err as Error).message}` };
    }
    if (this.isolationWarning) return { status: "warn" as const, detail: this.isolationWarning };
    return { status: "ok" as const, detail: "commands isolated with bubblewrap" };
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.processes.stopAll();
  }
}
