import type pg from "pg";
import { readAlone } from "../../lib/batches";
import { hasCode } from "../../lib/errors";
import { errorFields, type Logger } from "../../lib/log";
import type { TemplateCatalog } from "../../lib/templates";
import type { VfsApi } from "../../vfs/contract";
import type { Workspace, WorkspaceApi } from "../../workspace/contract";

/** What waking needs of the workspace service. */
export type WakeWorkspace = Pick<WorkspaceApi, "get" | "start" | "create" | "del" | "readFiles" | "ensureDevServer">;

/** What waking needs of the vfs: a re-created sandbox gets the project's latest version back. */
export type WakeVfs = Pick<VfsApi, "restoreWorkspace">;

/** What the waker reaches: the projects table, the workspace service and the vfs. */
export interface WakeDeps {
  db: pg.Pool;
  workspace: WakeWorkspace;
  vfs: WakeVfs;
  templates: TemplateCatalog;
  log: Logger;
}

const RUNNING_WAIT_MS = 5 * 60_000;

/** A workspace that does not answer `get` (its row is gone) is as gone as a deleted one. */
async function lookUp(workspace: WakeWorkspace, id: string): Promise<Workspace | null> {
  try {
    return await workspace.get({ id });
  } catch (err) {
    if (hasCode(err, "not_found")) return null;
    throw err;
  }
}

/**
 * Wakes the sandbox behind a shared preview that does not answer, one wake per project at a time while
 * visitors get the waking page: a stopped or archived sandbox is started; a deleted one (or a workspace
 * whose row is gone) is re-created from the project's template and given the project's latest version,
 * as a generation would; then the dev server comes up with the command it last ran (for a workspace
 * Kiln no longer knows: the template's, else `npm run dev` when package.json has a dev script). A project that is generating is left to its generation, which
 * prepares its own workspace; the project's row names the new workspace only if it still names the old
 * one, else the new one is deleted (someone else replaced it first).
 */
export function createWaker(deps: WakeDeps): { wake(projectId: string, workspaceId: string): void } {
  const inFlight = new Set<string>();
  const { workspace } = deps;

  async function untilRunning(ws: Workspace): Promise<Workspace | null> {
    for (const deadline = Date.now() + RUNNING_WAIT_MS; ws.status !== "running"; ) {
      if (ws.status === "error" || ws.status === "deleted" || Date.now() >= deadline) return null;
      await new Promise((resolve) => setTimeout(resolve, 500));
      ws = await workspace.get({ id: ws.id });
    }
    return ws;
  }

  /** `npm run dev` when the project's package.json has a dev script: what a blank project's agent runs. */
  async function devScript(id: string): Promise<string | null> {
    const file = await readAlone("package.json", async (paths) => (await workspace.readFiles({ id, paths })).files);
    try {
      const scripts = JSON.parse(Buffer.from(file?.contentBase64 ?? "", "base64").toString("utf8")).scripts;
      return typeof scripts?.dev === "string" ? "npm run dev" : null;
    } catch {
      return null;
    }
  }

  async function recreate(projectId: string, previous: string, devCommand: string | null): Promise<void> {
    const row = await deps.db.query<{ owner_id: string; template: string; status: string; workspace_id: string | null }>(
      "SELECT owner_id, template, status, workspace_id FROM projects WHERE id = $1 AND deleted_at IS NULL",
      [projectId],
    );
    const project = row.rows[0];
    if (!project || project.status === "generating" || project.workspace_id !== previous) return;
    deps.log.info("re-creating a shared preview's sandbox", { projectId, previous });
    const created = await workspace.create({ projectId, template: project.template, restoring: true });
    const claimed = await deps.db.query(
      "UPDATE projects SET workspace_id = $2, updated_at = now() WHERE id = $1 AND workspace_id = $3 AND status <> 'generating' AND deleted_at IS NULL",
      [projectId, created.id, previous],
    );
    if (claimed.rowCount !== 1) {
      await workspace.del({ id: created.id });
      return;
    }
    try {
      const running = await untilRunning(created);
      if (!running) throw new Error(`the re-created workspace ${created.id} did not come up`);
      await deps.vfs.restoreWorkspace({ projectId, workspaceId: running.id }, { userID: project.owner_id });
    } catch (err) {
      // Deleted, so the next visit re-creates it again instead of showing the template without the project's files.
      await workspace.del({ id: created.id }).catch(() => undefined);
      throw err;
    }
    const command = devCommand || deps.templates.find(project.template)?.manifest.dev || (await devScript(created.id));
    if (!command) return;
    const dev = await workspace.ensureDevServer({ id: created.id, command });
    if (dev.ok && dev.previewUrl) await deps.db.query("UPDATE projects SET preview_url = $2 WHERE id = $1 AND workspace_id = $3", [projectId, dev.previewUrl, created.id]);
  }

  async function run(projectId: string, id: string): Promise<void> {
    let ws = await lookUp(workspace, id);
    if (!ws || ws.status === "deleted" || ws.status === "error") return recreate(projectId, id, ws?.devCommand ?? null);
    if (ws.status === "stopped" || ws.status === "archived") ws = await workspace.start({ id });
    const running = await untilRunning(ws);
    if (running?.devCommand) await workspace.ensureDevServer({ id, command: running.devCommand });
  }

  return {
    wake(projectId, workspaceId) {
      if (inFlight.has(projectId)) return;
      inFlight.add(projectId);
      run(projectId, workspaceId)
        .catch((err) => deps.log.warn("waking a shared preview failed", { projectId, workspaceId, ...errorFields(err) }))
        .finally(() => inFlight.delete(projectId));
    },
  };
}

/** The page a visitor sees while the app wakes: it asks again every two seconds. */
export const WAKING_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="2"><title>Waking up…</title></head>
<body style="font-family:system-ui,sans-serif;display:grid;place-items:center;min-height:90vh;color:#334155"><div><h1 style="font-size:20px">Waking up the app…</h1><p>It was asleep. This page reloads itself until the app answers.</p></div></body></html>`;
