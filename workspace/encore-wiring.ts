import { secret } from "encore.dev/config";
import { SQLDatabase } from "encore.dev/storage/sqldb";
import pg from "pg";
import { loadConfig } from "../lib/config";
import { encoreLogger } from "../lib/encore";
import type { WorkspaceApi } from "./contract";
import { createProvider } from "./providers";
import { createWorkspaceService } from "./service";

const db = new SQLDatabase("workspace", { migrations: "./migrations" });
const daytonaApiKey = secret("DaytonaAPIKey");

/** The Daytona key when the secret is set (reading an unset secret throws under Encore). */
function optionalDaytonaKey(): string | undefined {
  try {
    return daytonaApiKey() || undefined;
  } catch {
    return undefined;
  }
}

let instance: Promise<WorkspaceApi> | undefined;

/** The workspace service under Encore, built once on first use (its sandbox provider starts asynchronously). */
export function workspace(): Promise<WorkspaceApi> {
  instance ??= (async () => {
    const config = loadConfig({ ...process.env, DAYTONA_API_KEY: optionalDaytonaKey() ?? process.env.DAYTONA_API_KEY });
    const log = encoreLogger.child({ service: "workspace" });
    return createWorkspaceService({
      db: new pg.Pool({ connectionString: db.connectionString }),
      provider: await createProvider(config, log),
      portRange: config.previewPorts,
      log,
    });
  })();
  return instance;
}
