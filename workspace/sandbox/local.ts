import { constants } from "node:fs";
import { access, chown, cp, lstat, mkdir, realpath, rm } from "node:fs/promises";
import { join } from "node:path";
import type { RevokedPreviewLinks } from "../contract";
import { AppError, invalidArgument, notFound } from "../../lib/errors";
import type { Logger } from "../../lib/log";
import { describePath, safeRelativePath } from "../../lib/paths";
import { chooseBoundary, openSandbox, type Boundary, type BoundaryChoice, type Isolation, type LiveSandbox, type SandboxLayer } from "./boundary";
import { DEPENDENCY_DIR, DependencyCache } from "./dependency-cache";
import { checkExecRequest, checkProcessRequest } from "./command-checks";
import { ProcessTable } from "./process-table";
import {
  KILN_LABEL,
  kilnLabels,
  type ExecRequest,
  type FileWrite,
  type ListFilesOptions,
  type ProcessRequest,
  type ProviderHealth,
  type SandboxInfo,
  type SandboxProvider,
  type SandboxSpec,
  type SandboxTerminal,
  type TerminalRequest,
} from "./provider";
import type { CommandStarter } from "./run-command";
import { fileFailure, SandboxFiles } from "./sandbox-files";
import { chownTree, infoOf, SandboxStore, type SandboxRecord } from "./sandbox-store";
import { checkTerminalSize, TERMINAL_ENV, terminalCommand } from "./terminal-command";
import { ToolboxOpError } from "./toolbox-client";

/** Configuration of the local sandbox provider. */
export interface LocalProviderOptions {
  /** The data directory holding one directory per sandbox. */
  root: string;
  /** The ports dev servers may listen on, inclusive; preview URLs are only given for these. */
  portRange: [number, number];
  /** The host the browser of the person running Kiln reaches the dev servers on (127.0.0.1 by default). */
  previewHost?: string;
  log: Logger;
  /**
   * `bubblewrap` (the default): every sandbox behind its own namespaces and network, refused when that
   * cannot be built. `none`: unconfined, on this machine as Kiln's user, only by explicit choice.
   */
  isolation?: Isolation;
  /** Between SIGTERM and SIGKILL when a command is killed (2 s by default). */
  killGraceMs?: number;
  /** The largest file `readFiles` returns (32 MiB by default). */
  maxReadBytes?: number;
  /** Where templates' dependencies are installed once and shared (`<root>/.template-cache` by default); Kiln's alone. */
  templateCache?: string;
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
 * The local sandbox provider: a directory per sandbox under `root` (see sandbox-store.ts), and while it
 * runs, one boundary instance (boundary.ts) whose toolbox does every file operation and starts every
 * command inside it. When the boundary cannot be built, every sandbox operation is refused with the
 * reason and what installs the missing part, and health reports it failed: never a weaker sandbox.
 */
export async function createLocalProvider(options: LocalProviderOptions): Promise<SandboxProvider> {
  checkPortRange(options.portRange);
  await mkdir(options.root, { recursive: true });
  const root = await realpath(options.root);
  const log = options.log.child({ provider: "local" });
  const graceMs = options.killGraceMs ?? 2000;
  const choice = await chooseBoundary(options.isolation ?? "bubblewrap", root, graceMs, log);
  if (choice.boundary === undefined) log.error(choice.refusal);
  else if (choice.boundary.isolation === "none") log.warn(`LOCAL SANDBOXES ARE ${choice.boundary.description}`);
  else log.info(`local sandboxes ${choice.boundary.description}`, { root });
  return new LocalProvider(root, options, choice, log);
}

class LocalProvider implements SandboxProvider {
  readonly name = "local" as const;
  private readonly store: SandboxStore;
  private readonly processes = new ProcessTable();
  /** The running boundary instance of each sandbox, by id; removed when its toolbox exits. */
  private readonly live = new Map<string, Promise<LiveSandbox>>();
  /** Templates' installed dependencies; undefined when local sandboxes are refused. */
  private readonly dependencies: DependencyCache | undefined;
  private closed = false;

  constructor(
    private readonly root: string,
    private readonly options: LocalProviderOptions,
    private readonly choice: BoundaryChoice,
    private readonly log: Logger,
  ) {
    this.store = new SandboxStore(root, log);
    const boundary = choice.boundary;
    if (boundary) {
      const cacheRoot = options.templateCache ?? join(root, ".template-cache");
      this.dependencies = new DependencyCache(cacheRoot, boundary, () => boundary.sandboxUid(new Set()), log);
    }
  }

  private async takenUids(): Promise<Set<number>> {
    return new Set((await this.store.list()).map((record) => record.uid).filter((uid): uid is number => uid !== undefined));
  }

  private ensureOpen(): void {
    if (this.closed) throw new AppError("unavailable", "the local sandbox provider is closed");
  }

  private boundary(): Boundary {
    this.ensureOpen();
    if (this.choice.boundary === undefined) throw new AppError("unavailable", this.choice.refusal);
    return this.choice.boundary;
  }

  private async record(id: string): Promise<SandboxRecord> {
    this.ensureOpen();
    const record = await this.store.read(id);
    if (!record) throw notFound("sandbox", String(id));
    return record;
  }

  /** The running boundary instance of a running sandbox, started when it has none (after a restart of Kiln). */
  private async session(id: string): Promise<LiveSandbox> {
    const record = await this.record(id);
    if (record.state !== "running") {
      throw new AppError("failed_precondition", `sandbox ${JSON.stringify(id)} is ${record.state}; start it first`, { state: record.state });
    }
    return this.boot(record);
  }

  private boot(record: SandboxRecord): Promise<LiveSandbox> {
    const existing = this.live.get(record.id);
    if (existing) return existing;
    const boundary = this.boundary();
    const booting = (async () => {
      let current = record;
      const uid = boundary.sandboxUid(new Set());
      if (uid !== undefined && current.uid === undefined) current = await this.store.adopt(current, uid);
      await mkdir(this.store.runDir(current.id), { recursive: true, mode: 0o700 });
      const layers = await Promise.all((current.layers ?? []).map((layer) => this.layer(current, layer)));
      const place = { id: current.id, projectDir: this.store.projectDir(current.id), runDir: this.store.runDir(current.id), uid: boundary.isolation === "none" ? undefined : current.uid, layers };
      const sandbox = await openSandbox(boundary, place, this.log);
      void sandbox.toolbox.exited.then(() => {
        if (this.live.get(current.id) === booting) this.live.delete(current.id);
      });
      return sandbox;
    })();
    this.live.set(record.id, booting);
    booting.catch(() => {
      if (this.live.get(record.id) === booting) this.live.delete(record.id);
    });
    return booting;
  }

  /**
   * The overlay of one of a sandbox's layers, its directories made: the shared installation below, the
   * sandbox's own changes above. The project's mount point is made a plain directory first (the sandbox
   * may have left a symlink or a file there; none of its processes runs while it boots).
   */
  private async layer(record: SandboxRecord, layer: { target: string; entry: string }): Promise<SandboxLayer> {
    const dependencies = this.dependencies!;
    if (!this.boundary().layers) throw new AppError("failed_precondition", `sandbox ${record.id} shares installed dependencies, which this machine's sandboxes cannot mount (Kiln must run as root with util-linux); create a new workspace`);
    if (!(await dependencies.has(layer.entry))) throw new AppError("failed_precondition", `sandbox ${record.id}'s ${layer.target} comes from template dependencies ${layer.entry}, which are no longer installed; create a new workspace`);
    const dir = this.store.layerDir(record.id, layer.target);
    await mkdir(dir, { recursive: true, mode: 0o711 });
    const paths = { upper: join(dir, "upper"), work: join(dir, "work"), merged: join(dir, "merged") };
    await mkdir(paths.upper, { recursive: true, mode: 0o755 });
    await mkdir(paths.work, { recursive: true, mode: 0o700 });
    await mkdir(paths.merged, { recursive: true, mode: 0o755 });
    if (record.uid !== undefined) await chown(paths.upper, record.uid, record.uid);
    const mountPoint = join(this.store.projectDir(record.id), layer.target);
    const existing = await lstat(mountPoint).catch(() => undefined);
    if (existing && !existing.isDirectory()) await rm(mountPoint, { force: true });
    if (!existing?.isDirectory()) {
      await mkdir(mountPoint, { mode: 0o755 });
      if (record.uid !== undefined) await chown(mountPoint, record.uid, record.uid);
    }
    return { target: layer.target, lower: dependencies.location(layer.entry), ...paths };
  }

  /** Ends a sandbox's processes and its boundary instance. */
  private async shutdown(id: string, forget: boolean): Promise<void> {
    await this.processes.stopSandbox(id, forget);
    const live = this.live.get(id);
    this.live.delete(id);
    await live?.then((sandbox) => sandbox.close(), () => undefined);
  }

  private async files(id: string): Promise<SandboxFiles> {
    return new SandboxFiles((await this.session(id)).toolbox, this.options.maxReadBytes ?? 32 * 1024 * 1024);
  }

  /** How a command of `id` starts: checked cwd, the sandbox's environment, a clear error for a cwd that is no directory. */
  private async starter(id: string, command: string, cwd: string | undefined, env: Record<string, string> | undefined): Promise<CommandStarter> {
    const dir = safeRelativePath("cwd", cwd ?? "", { allowRoot: true });
    const sandbox = await this.session(id);
    return async (onOutput) => {
      try {
        return await sandbox.toolbox.run(sandbox.command(command, dir, env ?? {}), onOutput);
      } catch (err) {
        if (err instanceof ToolboxOpError && (err.code === "ENOTDIR" || err.code === "ENOENT")) {
          throw invalidArgument("cwd", `path ${describePath(cwd ?? "")} is not a directory of the project`);
        }
        throw fileFailure("cwd", cwd ?? "", err);
      }
    };
  }

  async create(spec: SandboxSpec): Promise<SandboxInfo> {
    checkLabelValue("workspaceId", spec.workspaceId);
    checkLabelValue("projectId", spec.projectId);
    const boundary = this.boundary();
    const template = spec.template;
    // Installed once per version (minutes the first time, nothing after); every sandbox of it shares that installation.
    const installed = template?.dependencyVersion ? await this.dependencies!.ensure(template) : undefined;
    const layered = installed !== undefined && boundary.layers;
    const layers = layered ? [{ target: DEPENDENCY_DIR, entry: DependencyCache.entryName(template!) }] : undefined;
    const record = await this.store.create(kilnLabels(spec), boundary.sandboxUid(await this.takenUids()), layers);
    try {
      if (installed !== undefined && !layered) {
        // No overlays here (Kiln is not root, or unconfined): a copy of its own, before any of its processes runs.
        const copy = join(this.store.projectDir(record.id), DEPENDENCY_DIR);
        await cp(installed, copy, { recursive: true, verbatimSymlinks: true });
        if (record.uid !== undefined) await chownTree(copy, record.uid);
      }
      await this.boot(record);
      if (template && template.files.length > 0) await (await this.files(record.id)).write(template.files);
    } catch (err) {
      await this.shutdown(record.id, true).catch(() => undefined);
      await this.store.remove(record.id).catch(() => undefined);
      throw err;
    }
    this.log.info("local sandbox created", { sandboxId: record.id, workspaceId: spec.workspaceId, template: template?.name, layered });
    return infoOf(record);
  }

  async get(id: string): Promise<SandboxInfo> {
    const record = await this.store.read(id);
    if (record) return infoOf(record);
    // Its directory was removed behind Kiln's back: whatever of it still runs (toolbox, network, forwards) goes too.
    if (this.live.has(id)) await this.shutdown(id, true);
    return { id, state: "gone", labels: {} };
  }

  async list(): Promise<SandboxInfo[]> {
    return (await this.store.list()).filter((record) => record.labels[KILN_LABEL] === "true").map(infoOf);
  }

  async start(id: string): Promise<SandboxInfo> {
    const record = await this.store.update(await this.record(id), "running");
    await this.boot(record);
    return infoOf(record);
  }

  async stop(id: string): Promise<SandboxInfo> {
    const stopped = await this.store.update(await this.record(id), "stopped");
    await this.shutdown(id, false);
    return infoOf(stopped);
  }

  async delete(id: string): Promise<void> {
    await this.record(id);
    // Every process of the sandbox is gone before its files are removed on the host: nothing can race the removal.
    await this.shutdown(id, true);
    await this.store.remove(id);
    this.log.info("local sandbox deleted", { sandboxId: id });
  }

  async writeFiles(id: string, files: FileWrite[]): Promise<void> {
    await (await this.files(id)).write(files);
  }

  async readFiles(id: string, paths: string[]) {
    return (await this.files(id)).read(paths);
  }

  async listFiles(id: string, opts: ListFilesOptions) {
    return (await this.files(id)).list(opts ?? {});
  }

  async deletePaths(id: string, paths: string[]): Promise<void> {
    await (await this.files(id)).delete(paths);
  }

  async rename(id: string, from: string, to: string): Promise<void> {
    await (await this.files(id)).rename(from, to);
  }

  async exec(id: string, req: ExecRequest) {
    checkExecRequest(req);
    const start = await this.starter(id, req.command, req.cwd, req.env);
    return this.processes.run(id, start, { timeoutMs: req.timeoutMs, maxOutputBytes: req.maxOutputBytes, signal: req.signal });
  }

  async startProcess(id: string, req: ProcessRequest) {
    checkProcessRequest(req);
    const processId = await this.processes.start(id, req.name, await this.starter(id, req.command, req.cwd, req.env));
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

  async openTerminal(id: string, req: TerminalRequest): Promise<SandboxTerminal> {
    const command = terminalCommand(req.rows, req.cols);
    const cwd = safeRelativePath("cwd", req.cwd ?? "", { allowRoot: true });
    const sandbox = await this.session(id);
    const terminal = await sandbox.toolbox.runTerminal(sandbox.command(command, cwd, TERMINAL_ENV), req.onOutput);
    void terminal.finished.then((exit) => req.onExit(exit.exitCode));
    return {
      write: (data) => terminal.write(data),
      resize: (rows, cols) => {
        const size = checkTerminalSize(rows, cols);
        return terminal.resize(size.rows, size.cols);
      },
      close: () => terminal.terminate(),
    };
  }

  async previewUrl(id: string, port: number) {
    const [low, high] = this.options.portRange;
    if (!Number.isInteger(port) || port < low || port > high) throw invalidArgument("port", `${port} is outside the preview port range ${low}-${high}`);
    await (await this.session(id)).forward(port);
    const host = this.options.previewHost ?? "127.0.0.1";
    return { url: `http://${host.includes(":") ? `[${host}]` : host}:${port}` };
  }

  /**
   * Nothing to revoke: a local preview is a port of this machine's loopback forwarded into the sandbox,
   * the same address for the owner and the share gateway, and no bearer URL: what a visitor may read of
   * it (the app sees it as its Host) opens nothing from another machine, so a revoked share link leaves
   * them nothing.
   */
  async revokePreviewLinks(id: string): Promise<RevokedPreviewLinks> {
    await this.record(id);
    return { revoked: 0, pending: 0 };
  }

  async health(): Promise<ProviderHealth> {
    try {
      await access(this.root, constants.W_OK);
    } catch (err) {
      return { status: "fail", detail: `the sandbox data directory is not writable: ${(err as Error).message}` };
    }
    if (this.choice.boundary === undefined) return { status: "fail", detail: this.choice.refusal };
    const { boundary } = this.choice;
    return { status: boundary.isolation === "none" ? "warn" : "ok", detail: boundary.description };
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.processes.stopAll();
    await Promise.all([...this.live.keys()].map((id) => this.shutdown(id, false)));
  }
}
