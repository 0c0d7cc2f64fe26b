import { SQLDatabase } from "encore.dev/storage/sqldb";
import { vfs, workspace } from "~encore/clients";
import pg from "pg";
import { encoreLogger } from "../lib/encore";
import type { VfsApi } from "../vfs/contract";
import type { WorkspaceApi } from "../workspace/contract";
import type { AiApi } from "./contract";
import { createAiService } from "./service";

const db = new SQLDatabase("ai", { migrations: "./migrations" });

/** The workspace service reached through Encore's generated client, so every call is traced. */
const workspaceClient: Pick<WorkspaceApi, "health"> = {
  health: () => workspace.health(),
};

/** The vfs service reached through Encore's generated client. */
const vfsClient: Pick<VfsApi, "health"> = {
  health: () => vfs.health(),
};

let instance: AiApi | undefined;

/** The ai service under Encore, built once on first use. */
export function ai(): AiApi {
  instance ??= createAiService({
    db: new pg.Pool({ connectionString: db.connectionString }),
    workspace: workspaceClient,
    vfs: vfsClient,
    log: encoreLogger.child({ service: "ai" }),
  });
  return instance;
}
