import type pg from "pg";
import { postgresCheck, summarize } from "../lib/health";
import type { Logger } from "../lib/log";
import type { WorkspaceApi } from "./contract";

/** What the workspace service needs from its host. */
export interface WorkspaceDeps {
  db: pg.Pool;
  log: Logger;
}

/** The workspace service, framework-free. */
export function createWorkspaceService(deps: WorkspaceDeps): WorkspaceApi {
  return {
    async health() {
      return summarize("workspace", [await postgresCheck(deps.db)]);
    },
  };
}
