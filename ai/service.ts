import type pg from "pg";
import { postgresCheck, serviceCheck, summarize } from "../lib/health";
import type { Logger } from "../lib/log";
import type { VfsApi } from "../vfs/contract";
import type { WorkspaceApi } from "../workspace/contract";
import type { AiApi } from "./contract";

/** What the ai service needs from its host; other services only through their contracts. */
export interface AiDeps {
  db: pg.Pool;
  workspace: Pick<WorkspaceApi, "health">;
  vfs: Pick<VfsApi, "health">;
  log: Logger;
}

/** The ai service, framework-free. */
export function createAiService(deps: AiDeps): AiApi {
  return {
    async health() {
      const checks = await Promise.all([
        postgresCheck(deps.db),
        serviceCheck("workspace", () => deps.workspace.health()),
        serviceCheck("vfs", () => deps.vfs.health()),
      ]);
      return summarize("ai", checks);
    },
  };
}
