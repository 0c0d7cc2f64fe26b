import type pg from "pg";
import { loadConfig } from "../lib/config";
import { AppError, hasCode, invalidArgument, notFound } from "../lib/errors";
import { postgresCheck, runCheck, summarize } from "../lib/health";
import { newId } from "../lib/ids";
import { safeRelativePath } from "../lib/paths";
import { errorFields, type Logger } from "../lib/log";
import { inSpan } from "../lib/tracing";
import { hasStarter, TemplateCatalog, type Template } from "../lib/templates";
import { optionalBoolean, requireText } from "../lib/validate";
import type { PreviewAudience, Workspace, WorkspaceApi, WorkspaceStatus } from "./contract";
import { devLaunch } from "./dev-launch";
import { probeHttp } from "./probe";
import type { SandboxInfo, SandboxProvider, SandboxState, SandboxTemplate } from "./sandbox/provider";
import { terminalLimitsOf, TerminalSessions, type TerminalBackup, type TerminalLimits } from "./terminal/sessions";
import { BLOCKED_PORTS } from "../lib/blocked-ports";

/** What the workspace service needs from its host. */
export interface WorkspaceDeps {
  db: pg.Pool;
  provider: SandboxProvider;
  /** Ports handed to workspaces' dev servers, one per live workspace. */
  portRange: [number, number];
  log: Logger;
  /** The templates workspaces are made from (the repository's by default). */
  templates?: TemplateCatalog;
  /** Spare workspaces kept running for each template with a dev server, for creates to claim (0, the default: none). */
  warmPool?: number;
  /** The bounds of terminals (lib/config.ts's defaults when absent). */
  terminalLimits?: TerminalLimits;
  /** How a terminal's changed files reach the vfs; none: they stay in the sandbox only. */
  terminalBackup?: TerminalBackup;
}

interface WorkspaceRow {
  id: string;
  /** Null while the workspace is a spare of the warm pool: it belongs to no project yet. */
  project_id: string | null;
  status: WorkspaceStatus;
  provider: "local" | "daytona";
  provider_sandbox_id: string | null;
  last_error: string | null;
  dev_port: number;
  dev_process_id: string | null;
  dev_command: string | null;
  preview_url: string | null;
  template: string | null;
  created_at: Date;
  updated_at: Date;
  ready_at: Date | null;
}

function toWorkspace(row: WorkspaceRow): Workspace {
  return {
    id: row.id,
    projectId: row.project_id!,
    status: row.status,
    provider: row.provider,
    providerSandboxId: row.provider_sandbox_id,
    lastError: row.last_error,
    devPort: row.dev_port,
    previewUrl: row.preview_url,
    template: row.template,
    devCommand: row.dev_command,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    readyAt: row.ready_at?.toISOString() ?? null,
  };
}

const STATUS_OF: Record<SandboxState, WorkspaceStatus> = {
  creating: "creating",
  running: "running",
  stopped: "stopped",
  archived: "archived",
  restoring: "restoring",
  error: "error",
  gone: "deleted",
};

const DEFAULT_TIMEOUT_MS = 120_000;
const MAX_TIMEOUT_MS = 30 * 60_000;
const DEFAULT_OUTPUT_BYTES = 100_000;
const MAX_OUTPUT_BYTES = 5_000_000;
/** How much of the dev server's output a log reader gets unless it asks for another amount. */
const DEV_LOG_TAIL_BYTES = 65_536;
const MAX_BATCH = 5_000;
const DEV_PROCESS = "dev";
/** How long a cancel that arrived before its command is remembered. */
const EARLY_CANCEL_MEMORY_MS = 60_000;
/** How long closing waits for sandboxes still being provisioned. */
const CLOSE_WAIT_MS = 2000;
/** The project label of a spare's sandbox (a label is set once, at creation, before any project claims it). */
const SPARE_PROJECT = "kiln-warm-pool";
/** How long after a claim the pool starts replacing the spare: the claiming project's first page and first turn get the machine first. */
const REFILL_DELAY_MS = 2000;
/** How long a spare's dev server may take to answer before the spare is discarded. */
const SPARE_PROBE_MS = 120_000;

function boundedInteger(field: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) throw invalidArgument(field, `must be an integer from ${min} to ${max}`);
  return value;
}

/** A list of project paths, each through the one path gate (lib/paths.ts) before the provider sees it. */
function pathList(field: string, value: unknown): string[] {
  if (!Array.isArray(value)) throw invalidArgument(field, "must be a list of paths");
  if (value.length > MAX_BATCH) throw invalidArgument(field, `at most ${MAX_BATCH} paths per call, got ${value.length}`);
  return value.map((path, index) => safeRelativePath(`${field}[${index}]`, path));
}

/** A command's working directory through the one path gate; absent is the project root. */
function cwdOf(value: unknown): string | undefined {
  return value === undefined || value === null ? undefined : safeRelativePath("cwd", value, { allowRoot: true });
}

function environment(value: unknown): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value) || Object.values(value).some((v) => typeof v !== "string")) {
    throw invalidArgument("env", "must be an object of string values");
  }
  for (const key of Object.keys(value)) if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw invalidArgument("env", `${JSON.stringify(key)} is not a variable name`);
  return value as Record<string, string>;
}

/** What the provider gets of a template: its files (a re-created workspace's own are restored over them) and its dependencies. */
export function sandboxTemplate(template: Template): SandboxTemplate {
  return {
    name: template.manifest.name,
    files: template.files,
    install: template.manifest.install,
    dependencyVersion: template.dependencyVersion,
    devCache: template.manifest.devCache === null ? null : { command: template.manifest.dev, until: template.manifest.devCache },
  };
}

/** The audience a request names: `owner` or `share`. */
function audienceOf(value: unknown): PreviewAudience {
  if (value === "owner" || value === "share") return value;
  throw invalidArgument("audience", `must be "owner" or "share", not ${JSON.stringify(value)?.slice(0, 40)}`);
}

/**
 * The workspace service, framework-free: rows in Postgres, sandboxes at the provider. With `warmPool`,
 * it keeps that many spare workspaces of each template running (dev server answering) for creates to
 * claim; it owns every spare in its database (one workspace service per database), so it discards those
 * an earlier run left when it starts and its own when it closes. `fillPool` resolves once the pool is full
 * (or stopped filling).
 */
export function createWorkspaceService(deps: WorkspaceDeps): WorkspaceApi & { terminals: TerminalSessions; fillPool(): Promise<void>; close(): Promise<void> } {
  const { db, provider, log } = deps;
  const terminals = new TerminalSessions({ provider, log: log.child({ part: "terminals" }), limits: deps.terminalLimits ?? terminalLimitsOf(loadConfig({})), backup: deps.terminalBackup });
  const templates = deps.templates ?? TemplateCatalog.shared();
  const provisioning = new Set<Promise<void>>();
  /** Commands started with an execId, so `cancelExec` can kill them (they run in this process). */
  const runningCommands = new Map<string, AbortController>();
  /** Cancels that arrived before their command started (the two calls race): the command is refused. */
  const cancelledEarly = new Set<string>();
  const COLUMNS = "*";
  const poolSize = deps.warmPool ?? 0;

  async function row(id: unknown): Promise<WorkspaceRow> {
    const workspaceId = requireText("id", id, { min: 1, max: 100 });
    // A spare is no one's until a create claims it: nothing reaches it by id before that.
    const result = await db.query<WorkspaceRow>(`SELECT ${COLUMNS} FROM workspaces WHERE id = $1 AND project_id IS NOT NULL`, [workspaceId]);
    if (!result.rows[0]) throw notFound("workspace", workspaceId);
    return result.rows[0];
  }

  async function update(
    id: string,
    fields: Partial<Pick<WorkspaceRow, "status" | "provider_sandbox_id" | "last_error" | "dev_process_id" | "dev_command" | "preview_url">> & { ready?: boolean },
  ): Promise<WorkspaceRow> {
    const result = await db.query<WorkspaceRow>(
      `UPDATE workspaces SET status = COALESCE($2, status), provider_sandbox_id = COALESCE($3, provider_sandbox_id),
              last_error = CASE WHEN $4::boolean THEN $5 ELSE last_error END,
              dev_process_id = CASE WHEN $6::boolean THEN $7 ELSE dev_process_id END,
              preview_url = CASE WHEN $8::boolean THEN $9 ELSE preview_url END,
              ready_at = CASE WHEN $10::boolean THEN now() ELSE ready_at END,
              dev_command = CASE WHEN $11::boolean THEN $12 ELSE dev_command END, updated_at = now()
        WHERE id = $1 RETURNING *`,
      [
        id,
        fields.status ?? null,
        fields.provider_sandbox_id ?? null,
        "last_error" in fields,
        fields.last_error ?? null,
        "dev_process_id" in fields,
        fields.dev_process_id ?? null,
        "preview_url" in fields,
        fields.preview_url ?? null,
        fields.ready === true,
        "dev_command" in fields,
        fields.dev_command ?? null,
      ],
    );
    return result.rows[0]!;
  }

  /** Applies what the provider says of the sandbox to the row. */
  async function sync(current: WorkspaceRow, info: SandboxInfo): Promise<WorkspaceRow> {
    const status = STATUS_OF[info.state];
    const lastError = info.state === "error" ? (info.error ?? "the sandbox is in error") : info.state === "gone" ? "the sandbox no longer exists" : null;
    if (status === current.status && lastError === current.last_error) return current;
    return update(current.id, { status, last_error: lastError, ready: status === "running" && current.status !== "running" });
  }

  /** The row of a workspace whose sandbox can take files and commands now. */
  async function running(id: unknown): Promise<WorkspaceRow & { provider_sandbox_id: string }> {
    const current = await row(id);
    if (current.status !== "running" || !current.provider_sandbox_id) {
      throw new AppError("failed_precondition", `workspace ${current.id} is ${current.status}${current.last_error ? ` (${current.last_error})` : ""}, not running`);
    }
    return current as WorkspaceRow & { provider_sandbox_id: string };
  }

  /** Starts `command` as the workspace's dev process, launched by {@link devLaunch} from the package.json in `cwd`. */
  async function launchDevServer(ws: WorkspaceRow, sandboxId: string, command: string, cwd: string | undefined): Promise<string> {
    const [pkg] = await provider.readFiles(sandboxId, [cwd ? `${cwd}/package.json` : "package.json"]).catch(() => []);
    const launch = devLaunch(command, pkg && "content" in pkg ? pkg.content.toString("utf8") : null);
    return (await provider.startProcess(sandboxId, { name: DEV_PROCESS, command: launch, cwd, env: envWithPort(ws, {}) })).processId;
  }

  /** Starts a new workspace's dev server, so its preview answers before a model's first turn ends; a failure leaves the workspace usable. */
  async function startDevServer(workspace: WorkspaceRow, sandboxId: string, template: Template): Promise<{ dev_process_id?: string; dev_command?: string }> {
    try {
      return { dev_process_id: await launchDevServer(workspace, sandboxId, template.manifest.dev, undefined), dev_command: template.manifest.dev };
    } catch (err) {
      log.warn("the template's dev server did not start", { workspaceId: workspace.id, template: template.manifest.name, ...errorFields(err) });
      return {};
    }
  }

  function provision(workspace: WorkspaceRow, template: Template | undefined, restoring: boolean): void {
    const task = (async () => {
      try {
        const spec = { workspaceId: workspace.id, projectId: workspace.project_id!, template: template && sandboxTemplate(template) };
        const info = await provider.create(spec);
        // Started before the row names its sandbox: from then on a look at the workspace reads it running, and
        // a generation must find this dev server starting rather than start a second one. A re-created
        // workspace starts its dev server once its project's files are back.
        const dev = template && !restoring && info.state === "running" ? await startDevServer(workspace, info.id, template) : {};
        // A workspace deleted while its sandbox was being made stays deleted, and the sandbox goes too.
        const claimed = await db.query<WorkspaceRow>(
          `UPDATE workspaces SET provider_sandbox_id = $2, dev_process_id = COALESCE($3, dev_process_id), dev_command = COALESCE($4, dev_command), updated_at = now()
            WHERE id = $1 AND status <> 'deleted' RETURNING *`,
          [workspace.id, info.id, dev.dev_process_id ?? null, dev.dev_command ?? null],
        );
        if (!claimed.rows[0]) {
          await provider.delete(info.id);
          return;
        }
        await sync(claimed.rows[0], info);
      } catch (err) {
        log.warn("provisioning failed", { workspaceId: workspace.id, ...errorFields(err) });
        await db
          .query("UPDATE workspaces SET status = 'error', last_error = $2, updated_at = now() WHERE id = $1 AND status <> 'deleted'", [workspace.id, err instanceof Error ? err.message : String(err)])
          .catch(() => undefined);
      }
    })();
    provisioning.add(task);
    void task.finally(() => provisioning.delete(task));
  }

  /**
   * A new row in `creating` with the lowest free preview port (never one browsers refuse), or undefined when every port is taken. A
   * spare (no `projectId`) is only made while its template has fewer than `poolSize` spares.
   */
  async function insertWorkspace(projectId: string | null, template: Template | undefined): Promise<WorkspaceRow | undefined> {
    const [low, high] = deps.portRange;
    const client = await db.connect();
    try {
      // Ports are handed out under a lock: concurrent creates would otherwise pick the same free one (and the pool overfill).
      await client.query("BEGIN");
      await client.query("SELECT pg_advisory_xact_lock(hashtext('kiln-workspace-ports'))");
      const result = await client.query<WorkspaceRow>(
        `INSERT INTO workspaces (id, project_id, status, provider, dev_port, template)
         SELECT $1, $2, 'creating', $3, port, $6 FROM generate_series($4::int, $5::int) AS port
          WHERE NOT EXISTS (SELECT 1 FROM workspaces WHERE dev_port = port AND status <> 'deleted') AND port <> ALL($8::int[])
            AND ($2::text IS NOT NULL OR (SELECT count(*) FROM workspaces WHERE project_id IS NULL AND template = $6 AND status <> 'deleted') < $7)
          ORDER BY port LIMIT 1
         RETURNING *`,
        [newId("wsp"), projectId, provider.name, low, high, template?.manifest.name ?? null, poolSize, BLOCKED_PORTS],
      );
      await client.query("COMMIT");
      return result.rows[0];
    } catch (err) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  /**
   * A running spare of `template` made the project's, or undefined when there is none. One statement
   * claims it (SKIP LOCKED: concurrent creates never get the same one); a spare whose dev server has died
   * is discarded rather than handed out. Either way the pool is topped up behind the answer.
   */
  async function claimSpare(projectId: string, template: Template): Promise<WorkspaceRow | undefined> {
    if (poolSize === 0) return undefined;
    try {
      for (;;) {
        const result = await db.query<WorkspaceRow>(
          `UPDATE workspaces SET project_id = $1, updated_at = now()
            WHERE project_id IS NULL AND id = (
              SELECT id FROM workspaces WHERE project_id IS NULL AND template = $2 AND status = 'running' AND preview_url IS NOT NULL
               ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
           RETURNING *`,
          [projectId, template.manifest.name],
        );
        const spare = result.rows[0];
        if (!spare) return undefined;
        if (await devServerAlive(spare)) {
          log.info("claimed a spare workspace", { workspaceId: spare.id, projectId, template: template.manifest.name });
          return spare;
        }
        await discardSpare(spare, "its dev server had exited");
      }
    } finally {
      topUp(template, REFILL_DELAY_MS);
    }
  }

  /** Whether a spare's dev server still runs (a spare is only ever made with one). */
  const devServerAlive = (spare: WorkspaceRow) =>
    provider.processLogs(spare.provider_sandbox_id!, spare.dev_process_id!).then((logs) => logs.running, () => false);

  /** Removes a spare's sandbox and marks it deleted (its port free again). */
  async function discardSpare(spare: Pick<WorkspaceRow, "id" | "provider_sandbox_id">, reason: string): Promise<void> {
    log.info("discarding a spare workspace", { workspaceId: spare.id, reason });
    if (spare.provider_sandbox_id) await provider.delete(spare.provider_sandbox_id).catch(() => undefined);
    await db.query("UPDATE workspaces SET status = 'deleted', last_error = $2, dev_process_id = NULL, updated_at = now() WHERE id = $1", [spare.id, reason]);
  }

  /** Makes one spare: its sandbox from the template, its dev server started and answering; only then can a create claim it. */
  async function makeSpare(spare: WorkspaceRow, template: Template): Promise<void> {
    let sandboxId: string | null = null;
    try {
      const info = await provider.create({ workspaceId: spare.id, projectId: SPARE_PROJECT, template: sandboxTemplate(template) });
      sandboxId = info.id;
      const processId = info.state === "running" ? await launchDevServer(spare, info.id, template.manifest.dev, undefined) : undefined;
      if (!processId) throw new Error(`its sandbox is ${info.state}`);
      const link = await provider.previewUrl(info.id, spare.dev_port);
      const probe = await probeHttp(link, { timeoutMs: SPARE_PROBE_MS, stillRunning: async () => (await provider.processLogs(info.id, processId)).running });
      if (!probe.ok) throw new Error(probe.problem);
      const ready = await db.query(
        `UPDATE workspaces SET status = 'running', provider_sandbox_id = $2, dev_process_id = $3, dev_command = $4, preview_url = $5, ready_at = now(), updated_at = now()
          WHERE id = $1 AND status = 'creating' RETURNING id`,
        [spare.id, info.id, processId, template.manifest.dev, link.url],
      );
      if (!ready.rows[0]) throw new Error("the pool was closed while it was made");
    } catch (err) {
      log.warn("a spare workspace could not be made", { workspaceId: spare.id, template: template.manifest.name, ...errorFields(err) });
      await discardSpare({ id: spare.id, provider_sandbox_id: sandboxId }, err instanceof Error ? err.message : String(err)).catch(() => undefined);
    }
  }

  /** Per template, the top-up under way: one at a time, so spares of one template are made one after another. */
  const filling = new Map<string, Promise<void>>();
  let poolClosed = false;
  let wakeRefills = () => {};
  const closing = new Promise<void>((resolve) => (wakeRefills = resolve));

  /** Makes spares of `template` in the background, after `delayMs`, until it has `poolSize` of them (or a port or a spare fails). */
  function topUp(template: Template, delayMs = 0): void {
    const name = template.manifest.name;
    if (poolSize === 0 || poolClosed || filling.has(name)) return;
    const task = (async () => {
      if (delayMs > 0) await Promise.race([new Promise((resolve) => setTimeout(resolve, delayMs).unref()), closing]);
      while (!poolClosed) {
        const spare = await insertWorkspace(null, template);
        if (!spare) return;
        await makeSpare(spare, template);
        const made = await db.query("SELECT 1 FROM workspaces WHERE id = $1 AND status = 'running'", [spare.id]);
        if (!made.rows[0]) return;
      }
    })()
      .catch((err: unknown) => log.warn("topping up the warm pool failed", { template: name, ...errorFields(err) }))
      .finally(() => filling.delete(name));
    filling.set(name, task);
  }

  /** The templates the pool keeps spares of: every one with files and a dev server. */
  const pooled = () => templates.all().filter((template) => hasStarter(template) && template.manifest.dev !== "");

  /** Spares a create may never claim: every one left by an earlier run of the service (whose dev servers went with it) or not yet ready. */
  async function discardAllSpares(): Promise<void> {
    const spares = await db.query<WorkspaceRow>("SELECT * FROM workspaces WHERE project_id IS NULL AND status <> 'deleted'");
    await Promise.all(spares.rows.map((spare) => discardSpare(spare, "the warm pool was closed").catch(() => undefined)));
  }

  const envWithPort = (ws: WorkspaceRow, env: unknown) => ({ ...environment(env), PORT: String(ws.dev_port) });

  const poolStarted = poolSize === 0 ? Promise.resolve() : discardAllSpares().then(() => pooled().forEach(topUp), (err: unknown) => log.warn("starting the warm pool failed", errorFields(err)));

  return {
    async health() {
      const sandbox = await runCheck(`sandbox:${provider.name}`, () => provider.health());
      return summarize("workspace", [await postgresCheck(db), sandbox]);
    },

    async create(req) {
      const projectId = requireText("projectId", req.projectId, { min: 1, max: 100 });
      const template = req.template === undefined || req.template === null ? undefined : templates.resolve("template", req.template);
      const restoring = optionalBoolean("restoring", req.restoring) ?? false;
      const starter = template && hasStarter(template) ? template : undefined;
      const claimed = starter && !restoring ? await claimSpare(projectId, starter) : undefined;
      if (claimed) return toWorkspace(claimed);
      const created = await insertWorkspace(projectId, starter);
      if (!created) {
        const [low, high] = deps.portRange;
        throw new AppError("resource_exhausted", `every preview port from ${low} to ${high} is in use; delete idle workspaces or widen KILN_PREVIEW_PORTS`);
      }
      provision(created, starter, restoring);
      return toWorkspace(created);
    },

    async get(req) {
      const current = await row(req.id);
      if (!current.provider_sandbox_id || current.status === "deleted") return toWorkspace(current);
      return toWorkspace(await sync(current, await provider.get(current.provider_sandbox_id)));
    },

    async start(req) {
      const current = await row(req.id);
      if (current.status === "deleted" || !current.provider_sandbox_id) {
        throw new AppError("failed_precondition", `workspace ${current.id} is ${current.status}; create a new one`);
      }
      return toWorkspace(await sync(current, await provider.start(current.provider_sandbox_id)));
    },

    async stop(req) {
      const current = await running(req.id);
      await terminals.closeWorkspace(current.id);
      const info = await provider.stop(current.provider_sandbox_id);
      return toWorkspace(await sync(await update(current.id, { dev_process_id: null }), info));
    },

    async del(req) {
      const current = await row(req.id);
      await terminals.closeWorkspace(current.id);
      if (current.provider_sandbox_id && current.status !== "deleted") {
        // A sandbox already gone (deleted behind Kiln's back, by an earlier try, or by the provider itself) is what a delete wants.
        await provider.delete(current.provider_sandbox_id).catch((err: unknown) => {
          if (!(err instanceof AppError && err.code === "not_found")) throw err;
        });
      }
      await update(current.id, { status: "deleted", last_error: null, dev_process_id: null });
    },

    async writeFiles(req) {
      const ws = await running(req.id);
      if (!Array.isArray(req.files) || req.files.length > MAX_BATCH) throw invalidArgument("files", `must be a list of at most ${MAX_BATCH} files`);
      const files = req.files.map((f, i) => {
        if (typeof f?.path !== "string" || typeof f.contentBase64 !== "string") throw invalidArgument(`files[${i}]`, "needs path and contentBase64 strings");
        return { path: safeRelativePath(`files[${i}].path`, f.path), content: Buffer.from(f.contentBase64, "base64"), mode: f.mode };
      });
      const bytes = files.reduce((sum, f) => sum + f.content.length, 0);
      await inSpan("sandbox.writeFiles", { "kiln.workspace_id": ws.id, "kiln.files": files.length, "kiln.bytes": bytes }, () => provider.writeFiles(ws.provider_sandbox_id, files));
      return { files: files.map((f) => ({ path: f.path, size: f.content.length, isDir: false })) };
    },

    async readFiles(req) {
      const ws = await running(req.id);
      const paths = pathList("paths", req.paths);
      const results = await inSpan("sandbox.readFiles", { "kiln.workspace_id": ws.id, "kiln.files": paths.length }, () => provider.readFiles(ws.provider_sandbox_id, paths));
      return { files: results.map((r) => ("content" in r ? { path: r.path, contentBase64: r.content.toString("base64") } : { path: r.path, error: r.error })) };
    },

    async listFiles(req) {
      const ws = await running(req.id);
      const path = safeRelativePath("path", req.path ?? "", { allowRoot: true });
      return { files: await provider.listFiles(ws.provider_sandbox_id, { path, recursive: req.recursive ?? true, hashes: req.hashes ?? false }) };
    },

    async deleteFiles(req) {
      const ws = await running(req.id);
      await provider.deletePaths(ws.provider_sandbox_id, pathList("paths", req.paths));
    },

    async rename(req) {
      const ws = await running(req.id);
      await provider.rename(ws.provider_sandbox_id, safeRelativePath("from", req.from), safeRelativePath("to", req.to));
    },

    async exec(req) {
      const ws = await running(req.id);
      const execKey = req.execId === undefined ? undefined : `${ws.id}/${requireText("execId", req.execId, { min: 1, max: 100 })}`;
      const controller = new AbortController();
      if (execKey) runningCommands.set(execKey, controller);
      if (execKey && cancelledEarly.delete(execKey)) controller.abort();
      try {
        return await inSpan("sandbox.exec", { "kiln.workspace_id": ws.id }, () => provider.exec(ws.provider_sandbox_id, {
          command: requireText("command", req.command, { min: 1, max: 100_000 }),
          cwd: cwdOf(req.cwd),
          env: envWithPort(ws, req.env),
          timeoutMs: boundedInteger("timeoutMs", req.timeoutMs, DEFAULT_TIMEOUT_MS, 1, MAX_TIMEOUT_MS),
          maxOutputBytes: boundedInteger("maxOutputBytes", req.maxOutputBytes, DEFAULT_OUTPUT_BYTES, 1024, MAX_OUTPUT_BYTES),
          signal: controller.signal,
        }));
      } finally {
        if (execKey) runningCommands.delete(execKey);
      }
    },

    async cancelExec(req) {
      const key = `${requireText("id", req.id, { min: 1, max: 100 })}/${requireText("execId", req.execId, { min: 1, max: 100 })}`;
      const controller = runningCommands.get(key);
      if (controller) {
        controller.abort();
        return { cancelled: true };
      }
      cancelledEarly.add(key);
      setTimeout(() => cancelledEarly.delete(key), EARLY_CANCEL_MEMORY_MS).unref();
      return { cancelled: false };
    },

    async startProcess(req) {
      const ws = await running(req.id);
      const started = await provider.startProcess(ws.provider_sandbox_id, {
        name: requireText("name", req.name, { min: 1, max: 64 }),
        command: requireText("command", req.command, { min: 1, max: 100_000 }),
        cwd: cwdOf(req.cwd),
        env: envWithPort(ws, req.env),
      });
      return { id: ws.id, processId: started.processId };
    },

    async processLogs(req) {
      const ws = await running(req.id);
      const tailBytes = req.tailBytes === undefined ? undefined : boundedInteger("tailBytes", req.tailBytes, 0, 1, MAX_OUTPUT_BYTES);
      return provider.processLogs(ws.provider_sandbox_id, requireText("processId", req.processId, { min: 1, max: 200 }), { tailBytes });
    },

    async stopProcess(req) {
      const ws = await running(req.id);
      await provider.stopProcess(ws.provider_sandbox_id, requireText("processId", req.processId, { min: 1, max: 200 }));
    },

    async ensureDevServer(req) {
      const ws = await running(req.id);
      const command = requireText("command", req.command, { min: 1, max: 10_000 });
      const cwd = cwdOf(req.cwd);
      const probeTimeoutMs = boundedInteger("probeTimeoutMs", req.probeTimeoutMs, 60_000, 100, 600_000);
      const link = await provider.previewUrl(ws.provider_sandbox_id, ws.dev_port);
      const tail = async (processId: string) => (await provider.processLogs(ws.provider_sandbox_id, processId, { tailBytes: 4000 })).output;

      if (ws.dev_process_id) {
        const processId = ws.dev_process_id;
        const logs = await provider.processLogs(ws.provider_sandbox_id, processId).catch(() => null);
        // The same command still running may still be booting (a template's, started with the workspace): wait for it rather than restart it.
        const stillRunning = async () => (await provider.processLogs(ws.provider_sandbox_id, processId)).running;
        if (ws.dev_command === command && logs?.running && (await probeHttp(link, { timeoutMs: probeTimeoutMs, stillRunning })).ok) {
          if (ws.preview_url !== link.url) await update(ws.id, { preview_url: link.url });
          return { ok: true, previewUrl: link.url, previewToken: link.token ?? null, processId, problem: null, logTail: "" };
        }
        await provider.stopProcess(ws.provider_sandbox_id, processId).catch(() => undefined);
      }
      const processId = await launchDevServer(ws, ws.provider_sandbox_id, command, cwd);
      await update(ws.id, { dev_process_id: processId, dev_command: command });
      const probe = await probeHttp(link, {
        timeoutMs: probeTimeoutMs,
        stillRunning: async () => (await provider.processLogs(ws.provider_sandbox_id, processId)).running,
      });
      if (!probe.ok) {
        return { ok: false, previewUrl: null, previewToken: null, processId, problem: `${probe.problem} (the dev server must listen on 0.0.0.0:${ws.dev_port}, the PORT variable)`, logTail: await tail(processId) };
      }
      await update(ws.id, { preview_url: link.url });
      return { ok: true, previewUrl: link.url, previewToken: link.token ?? null, processId, problem: null, logTail: "" };
    },

    async devServerLogs(req) {
      const ws = await row(req.id);
      const tailBytes = boundedInteger("tailBytes", req.tailBytes, DEV_LOG_TAIL_BYTES, 1, MAX_OUTPUT_BYTES);
      const idle = { output: "", running: false, exitCode: null, command: ws.dev_command, workspaceStatus: ws.status };
      if (ws.status !== "running" || !ws.provider_sandbox_id || !ws.dev_process_id) return idle;
      // A process the sandbox no longer knows (it restarted) has no output to show: not an error for a log reader.
      const logs = await provider.processLogs(ws.provider_sandbox_id, ws.dev_process_id, { tailBytes }).catch(() => null);
      return logs ? { ...idle, output: logs.output, running: logs.running, exitCode: logs.exitCode } : idle;
    },

    async preview(req) {
      const ws = await running(req.id);
      const port = boundedInteger("port", req.port, ws.dev_port, 1, 65535);
      const link = await provider.previewUrl(ws.provider_sandbox_id, port, audienceOf(req.audience ?? "owner"));
      return { url: link.url, token: link.token ?? null, expiresAt: link.expiresAt ?? null };
    },

    async revokePreviewLinks(req) {
      const ws = await row(req.id);
      const audience = audienceOf(req.audience);
      if (!ws.provider_sandbox_id || ws.status === "deleted") return { revoked: 0, pending: 0 };
      try {
        return await provider.revokePreviewLinks(ws.provider_sandbox_id, audience);
      } catch (err) {
        // A sandbox that is gone took its links with it.
        if (hasCode(err, "not_found")) return { revoked: 0, pending: 0 };
        throw err;
      }
    },

    async reconcile() {
      const sandboxes = await provider.list();
      const rows = await db.query<WorkspaceRow>("SELECT * FROM workspaces WHERE status <> 'deleted'");
      const live = new Set(rows.rows.map((r) => r.provider_sandbox_id).filter(Boolean));
      const creating = new Set(rows.rows.filter((r) => r.status === "creating").map((r) => r.id));
      const deletedOrphans: string[] = [];
      const markedGone: string[] = [];
      const failed: Array<{ sandboxId: string; reason: string }> = [];
      // Each sandbox on its own: one the provider fails on (a 409 that outlasts its retries, a timeout) is
      // reported and the sweep goes on; a sandbox already gone is no failure.
      const each = async (sandboxId: string, work: () => Promise<void>) => {
        try {
          await work();
        } catch (err) {
          if (err instanceof AppError && err.code === "not_found") return;
          failed.push({ sandboxId, reason: err instanceof Error ? err.message : String(err) });
          log.warn("reconciling a sandbox failed", { sandboxId, ...errorFields(err) });
        }
      };
      for (const sandbox of sandboxes) {
        // A sandbox still being provisioned has no id in its row yet: its label names the workspace.
        if (live.has(sandbox.id) || creating.has(sandbox.labels["kiln.workspace"] ?? "")) continue;
        await each(sandbox.id, async () => {
          // A provider's list may lag behind its deletes (Daytona shows just-deleted sandboxes as started): a fresh read decides.
          if ((await provider.get(sandbox.id)).state === "gone") return;
          await provider.delete(sandbox.id);
          deletedOrphans.push(sandbox.id);
        });
      }
      const known = new Set(sandboxes.map((s) => s.id));
      for (const r of rows.rows) {
        if (!r.provider_sandbox_id || known.has(r.provider_sandbox_id)) continue;
        await each(r.provider_sandbox_id, async () => {
          const info = await provider.get(r.provider_sandbox_id!);
          if (info.state !== "gone") return;
          await update(r.id, { status: "deleted", last_error: "the sandbox no longer exists", dev_process_id: null });
          markedGone.push(r.id);
        });
      }
      if (deletedOrphans.length + markedGone.length + failed.length > 0) log.info("reconciled sandboxes", { deletedOrphans, markedGone, failed: failed.length });
      // Spares whose dev server died go, and the pool is made full again (after a spare failed to be made, too).
      for (const spare of rows.rows.filter((r) => r.project_id === null && r.status === "running" && r.dev_process_id)) {
        if (!(await devServerAlive(spare))) await discardSpare(spare, "its dev server had exited").catch(() => undefined);
      }
      pooled().forEach(topUp);
      return { deletedOrphans, markedGone, failed };
    },

    async openTerminal(req) {
      const current = await running(req.id);
      const userID = requireText("userID", req.userID, { min: 1, max: 100 });
      const terminalId = req.terminalId === undefined ? undefined : requireText("terminalId", req.terminalId, { min: 1, max: 100 });
      return terminals.open({ workspaceId: current.id, projectId: current.project_id!, sandboxId: current.provider_sandbox_id, userID, terminalId, rows: req.rows, cols: req.cols });
    },

    async listTerminals(req) {
      return terminals.list((await row(req.id)).id);
    },

    terminals,

    async fillPool() {
      await poolStarted;
      while (filling.size > 0) await Promise.allSettled([...filling.values()]);
    },

    async close() {
      // Spares are idle dev servers: none outlives the service (one being made is discarded when it is done).
      poolClosed = true;
      wakeRefills();
      await poolStarted;
      await discardAllSpares().catch((err: unknown) => log.warn("discarding the warm pool failed", errorFields(err)));
      // A sandbox still being provisioned may take minutes: give it a moment, not the whole shutdown.
      const deadline = new Promise((resolve) => setTimeout(resolve, CLOSE_WAIT_MS).unref());
      await Promise.race([Promise.allSettled([...provisioning, ...filling.values()]), deadline]);
      await terminals.closeAll();
      await provider.close();
    },
  };
}
