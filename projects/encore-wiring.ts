import { SQLDatabase } from "encore.dev/storage/sqldb";
import { vfs, workspace } from "~encore/clients";
import pg from "pg";
import { encoreLogger } from "../lib/encore";
import type { AuthData } from "../lib/routes";
import type { ProjectsApi } from "./contract";
import { createProjectsService } from "./service";
import { authenticate } from "./tokens";

const db = new SQLDatabase("projects", { migrations: "./migrations" });

let pool: pg.Pool | undefined;
let instance: ProjectsApi | undefined;

function connection(): pg.Pool {
  pool ??= new pg.Pool({ connectionString: db.connectionString });
  return pool;
}

/** The projects service under Encore, built once on first use. */
export function projects(): ProjectsApi {
  instance ??= createProjectsService({
    db: connection(),
    workspace: { del: (req) => workspace.del(req) },
    vfs: { purgeProject: (req) => vfs.purgeProject(req) },
    log: encoreLogger.child({ service: "projects" }),
  });
  return instance;
}

/** The token check behind Encore's auth handler: the same function the standalone server runs. */
export function verify(authorization: string | undefined): Promise<AuthData> {
  return authenticate(connection(), authorization);
}
