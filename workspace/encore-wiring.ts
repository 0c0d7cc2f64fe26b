import { SQLDatabase } from "encore.dev/storage/sqldb";
import pg from "pg";
import { encoreLogger } from "../lib/encore";
import type { WorkspaceApi } from "./contract";
import { createWorkspaceService } from "./service";

const db = new SQLDatabase("workspace", { migrations: "./migrations" });

let instance: WorkspaceApi | undefined;

/** The workspace service under Encore, built once on first use. */
export function workspace(): WorkspaceApi {
  instance ??= createWorkspaceService({
    db: new pg.Pool({ connectionString: db.connectionString }),
    log: encoreLogger.child({ service: "workspace" }),
  });
  return instance;
}
