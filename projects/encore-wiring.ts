import { SQLDatabase } from "encore.dev/storage/sqldb";
import pg from "pg";
import { encoreLogger } from "../lib/encore";
import type { ProjectsApi } from "./contract";
import { createProjectsService } from "./service";

const db = new SQLDatabase("projects", { migrations: "./migrations" });

let instance: ProjectsApi | undefined;

/** The projects service under Encore, built once on first use. */
export function projects(): ProjectsApi {
  instance ??= createProjectsService({
    db: new pg.Pool({ connectionString: db.connectionString }),
    log: encoreLogger.child({ service: "projects" }),
  });
  return instance;
}
