import { secret } from "encore.dev/config";
import { SQLDatabase } from "encore.dev/storage/sqldb";
import { vfs } from "~encore/clients";
import { ConfigError, loadConfig } from "../lib/config";
import { AppError } from "../lib/errors";
import { encoreLogger } from "../lib/encore";
import { missingSecret, NotConfigured, secretValue, servicePool, startInBackground } from "../lib/startup";
import { workspaceRoutes, type WorkspaceApi } from "./contract";
import { createProvider, providerName } from "./providers";
import { createWorkspaceService } from "./service";
import { terminalLimitsOf, type TerminalSessions } from "./terminal/sessions";

const db = new SQLDatabase("workspace", { migrations: "./migrations" });
const daytonaApiKey = secret("DaytonaAPIKey");

const log = encoreLogger.child({ service: "workspace" });
const pool = servicePool(db.connectionString, log);

/** Builds the service and its sandbox provider: Daytona with the DaytonaAPIKey secret, else local sandboxes. */
async function openWorkspace(): Promise<WorkspaceApi> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig({ ...process.env, DAYTONA_API_KEY: secretValue(daytonaApiKey) || process.env.DAYTONA_API_KEY });
  } catch (err) {
    if (err instanceof ConfigError) throw new NotConfigured("config", err.message);
    throw err;
  }
  if (providerName(config) === "daytona" && !config.daytonaApiKey) {
    throw missingSecret("sandbox", "DaytonaAPIKey", "KILN_SANDBOX=daytona runs every sandbox on Daytona");
  }
  const built = createWorkspaceService({
    db: pool,
    provider: await createProvider(config, log),
    portRange: config.previewPorts,
    log,
    warmPool: config.warmPool,
    terminalLimits: terminalLimitsOf(config),
    terminalBackup: ({ projectId, workspaceId, userID }) => vfs.backupWorkspace({ projectId, workspaceId, label: "terminal" }, { authData: { userID } }).then(() => undefined),
  });
  sessions = built.terminals;
  return built;
}

let sessions: TerminalSessions | undefined;

/** The service's live terminals, for the terminal socket (`unavailable` until the service has started). */
export function terminals(): TerminalSessions {
  if (!sessions) throw new AppError("unavailable", "the workspace service is still starting; try the terminal again in a moment");
  return sessions;
}

/** Started when Encore loads the service; a provider that cannot start yet is retried, and meanwhile reported. */
const service = startInBackground<WorkspaceApi>({ service: "workspace", methods: Object.keys(workspaceRoutes), start: openWorkspace, log });

/** The workspace service under Encore. */
export function workspace(): Promise<WorkspaceApi> {
  return Promise.resolve(service.api);
}
