import { secret } from "encore.dev/config";
import { SQLDatabase } from "encore.dev/storage/sqldb";
import { vfs, workspace } from "~encore/clients";
import type pg from "pg";
import { VARIABLES } from "../lib/config";
import { encoreLogger } from "../lib/encore";
import { errorFields } from "../lib/log";
import type { AuthData } from "../lib/routes";
import { isUnreachable, retryStart, secretValue, servicePool } from "../lib/startup";
import type { ProjectsApi } from "./contract";
import { createProjectsService } from "./service";
import { authenticate } from "./tokens";
import { bootstrapLocalUser } from "./users";

const db = new SQLDatabase("projects", { migrations: "./migrations" });
const bootstrapToken = secret("KilnBootstrapToken");

const log = encoreLogger.child({ service: "projects" });
const pool: pg.Pool = servicePool(db.connectionString, log);

const instance: ProjectsApi = createProjectsService({
  db: pool,
  workspace: {
    del: (req) => workspace.del(req),
    preview: (req) => workspace.preview(req),
    revokePreviewLinks: (req) => workspace.revokePreviewLinks(req),
    get: (req) => workspace.get(req),
    start: (req) => workspace.start(req),
    create: (req) => workspace.create(req),
    readFiles: (req) => workspace.readFiles(req),
    ensureDevServer: (req) => workspace.ensureDevServer(req),
    devServerLogs: (req) => workspace.devServerLogs(req),
    openTerminal: (req) => workspace.openTerminal(req),
    listTerminals: (req) => workspace.listTerminals(req),
  },
  vfs: {
    purgeProject: (req) => vfs.purgeProject(req),
    thumbnail: (req, auth) => vfs.thumbnail(req, { authData: auth }),
    restoreWorkspace: (req, auth) => vfs.restoreWorkspace(req, { authData: auth }),
  },
  log,
});

/** The projects service under Encore. */
export function projects(): ProjectsApi {
  return instance;
}

/** The token check behind Encore's auth handler: the same function the standalone server runs. */
export function verify(authorization: string | undefined): Promise<AuthData> {
  return authenticate(pool, authorization);
}

/**
 * On the first start (no user yet) creates the local user with the KilnBootstrapToken secret as its
 * API token. Instances starting together create it once (an advisory lock); later starts change
 * nothing. Without the secret no token is made up and printed, since Encore keeps every log line:
 * the log says how to get one.
 */
async function bootstrap(): Promise<void> {
  const token = secretValue(bootstrapToken);
  if (!token) {
    if (!(await retryStart("the user check", () => hasUsers(pool), { log, retryable: isUnreachable }))) {
      log.warn(
        'no user yet, and the KilnBootstrapToken secret is not set: set it and restart, or create the first token with `npm run token -- create --database-url "$(encore db conn-uri projects)"`',
      );
    }
    return;
  }
  try {
    VARIABLES.bootstrapToken.parse(token);
  } catch (err) {
    log.error("the KilnBootstrapToken secret is not used", { reason: `it ${err instanceof Error ? err.message : String(err)}` });
    return;
  }
  const created = await retryStart("the first user", () => bootstrapLocalUser(pool, token), { log, retryable: isUnreachable });
  if (created) log.info("created the local user with the token from the KilnBootstrapToken secret", { tokenPrefix: created.prefix });
}

async function hasUsers(db: pg.Pool): Promise<boolean> {
  return ((await db.query("SELECT 1 FROM users LIMIT 1")).rowCount ?? 0) > 0;
}

/** Runs with the service's start; its outcome is logged (a failure never ends the process). */
export const bootstrapped: Promise<void> = bootstrap().catch((err: unknown) => log.error("could not create the local user", errorFields(err)));
