import { errorFields, type Logger } from "../../lib/log";
import type { WorkspaceApi } from "../../workspace/contract";

/** What waking needs of the workspace service. */
export type WakeWorkspace = Pick<WorkspaceApi, "get" | "start" | "ensureDevServer">;

const RUNNING_WAIT_MS = 5 * 60_000;

/**
 * Wakes the sandbox behind a shared preview that does not answer: starts it when it is stopped or
 * archived, waits until it runs, then brings its dev server up with the command it last ran. One wake
 * per workspace at a time; visitors meanwhile get the waking page. A sandbox that is gone (deleted)
 * is not re-created here: the owner's next generation does that.
 */
export function createWaker(workspace: WakeWorkspace, log: Logger): { wake(workspaceId: string): void } {
  const inFlight = new Set<string>();
  async function run(id: string): Promise<void> {
    let ws = await workspace.get({ id });
    if (ws.status === "stopped" || ws.status === "archived") ws = await workspace.start({ id });
    for (const deadline = Date.now() + RUNNING_WAIT_MS; ws.status !== "running" && Date.now() < deadline; ) {
      if (ws.status === "error" || ws.status === "deleted") return;
      await new Promise((resolve) => setTimeout(resolve, 500));
      ws = await workspace.get({ id });
    }
    if (ws.status === "running" && ws.devCommand) await workspace.ensureDevServer({ id, command: ws.devCommand });
  }
  return {
    wake(id) {
      if (inFlight.has(id)) return;
      inFlight.add(id);
      run(id)
        .catch((err) => log.warn("waking a shared preview failed", { workspaceId: id, ...errorFields(err) }))
        .finally(() => inFlight.delete(id));
    },
  };
}

/** The page a visitor sees while the app wakes: it asks again every two seconds. */
export const WAKING_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="2"><title>Waking up…</title></head>
<body style="font-family:system-ui,sans-serif;display:grid;place-items:center;min-height:90vh;color:#334155"><div><h1 style="font-size:20px">Waking up the app…</h1><p>It was asleep. This page reloads itself until the app answers.</p></div></body></html>`;
