import type pg from "pg";
import { postgresCheck, summarize } from "../lib/health";
import type { Logger } from "../lib/log";
import type { ProjectsApi } from "./contract";

/** What the projects service needs from its host. */
export interface ProjectsDeps {
  db: pg.Pool;
  log: Logger;
}

/** The projects service, framework-free. */
export function createProjectsService(deps: ProjectsDeps): ProjectsApi {
  return {
    async health() {
      return summarize("projects", [await postgresCheck(deps.db)]);
    },
  };
}
