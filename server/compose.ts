import { MongoClient } from "mongodb";
import Anthropic from "@anthropic-ai/sdk";
import { createJobStore } from "../ai/jobs/store";
import { startAiRuntime } from "../ai/runtime";
import type { Config } from "../lib/config";
import type { ServiceHealth } from "../lib/health";
import type { Logger } from "../lib/log";
import { isUnreachable, retryStart, type RetryPolicy } from "../lib/startup";
import { openDatabases, type DatabaseOwner, type Databases } from "../lib/postgres";
import { TemplateCatalog } from "../lib/templates";
import { createProjectsService } from "../projects/service";
import { authenticate } from "../projects/tokens";
import { gitLimitsOf } from "../vfs/git-service";
import { createVfsService } from "../vfs/service";
import { createProvider } from "../workspace/providers";
import { createWorkspaceService } from "../workspace/service";
import { terminalLimitsOf, type TerminalSessions } from "../workspace/terminal/sessions";
import { CONTRACT_ROUTES } from "./contracts";
import { startMaintenance } from "./maintenance";
import { createMetrics, type KilnMetrics } from "./metrics";
import type { ShareListenerHandlers } from "./share-listener";
import type { Authenticate, MountedService, UpgradeHandler } from "./mount";
import { rootPath } from "../lib/root";

/** The services that own a Postgres database, with their migrations. */
export const DATABASE_OWNERS: DatabaseOwner[] = ["projects", "workspace", "ai"].map((service) => ({
  service,
  migrationsDir: rootPath(service, "migrations"),
}));

/** Where the standalone composition keeps its state, beyond the configuration. */
export interface ComposeOptions {
  /** Keep embedded Postgres in memory instead of under the data directory (tests). */
  inMemoryDatabase?: boolean;
  /** How long a Postgres server that is not up yet is waited for (default: STARTUP_RETRY, about 45 s). */
  databaseRetry?: RetryPolicy;
}

/**
 * Opens and migrates every service's database as this configuration names them (KILN_SCHEMA_PREFIX
 * included). A server that cannot be reached yet (a container still starting) is retried with backoff,
 * each attempt logged; any other failure, and the last attempt's, stops the start.
 */
export function openKilnDatabases(config: Config, log: Logger, options: ComposeOptions = {}): Promise<Databases> {
  const open = () =>
    openDatabases(DATABASE_OWNERS, {
      url: config.databaseUrl,
      dataDir: options.inMemoryDatabase ? null : config.dataDir,
      schemaPrefix: config.schemaPrefix,
      maxConnections: config.dbPoolSize,
      log,
    });
  return retryStart("the Postgres databases", open, { log, policy: options.databaseRetry, retryable: isUnreachable });
}

/** Kiln assembled for one process: every service, wired to the others directly. */
export interface Kiln {
  services: MountedService[];
  databases: Databases;
  /** Verifies a request's bearer token (the projects service's tokens). */
  authenticate: Authenticate;
  /** Prometheus metrics for `GET /metrics`. */
  metrics: KilnMetrics;
  /** WebSocket upgrades of the share gateway (`/s/<token>/...`: a preview's hot reload). */
  upgrade: UpgradeHandler;
  /** The share listener's handlers (`KILN_SHARE_PORT`). */
  shareListener: ShareListenerHandlers;
  /** The live terminals, whose sockets the HTTP server serves. */
  terminals: TerminalSessions;
  health(): Promise<ServiceHealth[]>;
  /** Stops the job runner, then releases sandboxes, MongoDB and the databases. */
  close(): Promise<void>;
}

/**
 * The standalone composition root: opens the databases, builds each service from its dependencies and
 * hands each service the others' implementations where Encore would hand it `~encore/clients`.
 */
export async function composeKiln(config: Config, log: Logger, options: ComposeOptions = {}): Promise<Kiln> {
  const databases = await openKilnDatabases(config, log, options);
  const mongoClient = config.mongodbUri ? new MongoClient(config.mongodbUri, { serverSelectionTimeoutMS: 3000 }) : null;

  const workspaceLog = log.child({ service: "workspace" });
  const workspace = createWorkspaceService({
    db: databases.pool("workspace"),
    provider: await createProvider(config, workspaceLog),
    portRange: config.previewPorts,
    log: workspaceLog,
    warmPool: config.warmPool,
    terminalLimits: terminalLimitsOf(config),
    terminalBackup: ({ projectId, workspaceId, userID }) => vfs.backupWorkspace({ projectId, workspaceId, label: "terminal" }, { userID }).then(() => undefined),
  });
  // projects and vfs call each other (ownership one way, purge the other): bind the vfs late.
  const projects = createProjectsService({
    db: databases.pool("projects"),
    workspace,
    vfs: { purgeProject: (req) => vfs.purgeProject(req), thumbnail: (req, auth) => vfs.thumbnail(req, auth), restoreWorkspace: (req, auth) => vfs.restoreWorkspace(req, auth) },
    templates: TemplateCatalog.shared(config.defaultTemplate),
    log: log.child({ service: "projects" }),
    shareOrigin: config.sharePort === undefined ? undefined : (config.shareOrigin ?? `http://share.localhost:${config.sharePort}`),
  });
  const vfs = createVfsService({ mongo: mongoClient?.db(config.mongodbDatabase) ?? null, projects, workspace, log: log.child({ service: "vfs" }), gitLimits: gitLimitsOf(config) });

  const metrics = createMetrics(() => createJobStore(databases.pool("ai")).counts());
  const { ai, runner } = startAiRuntime({
    db: databases.pool("ai"),
    projects,
    workspace,
    vfs,
    anthropic: new Anthropic({ apiKey: config.anthropicApiKey ?? null, baseURL: config.anthropicBaseUrl ?? null }),
    config,
    metrics,
    log: log.child({ service: "ai" }),
  });

  const maintenance = startMaintenance(
    [
      { name: "reconcile sandboxes", run: () => workspace.reconcile({}) },
      ...(mongoClient ? [{ name: "sweep unused blobs", run: () => vfs.sweepAll({}) }] : []),
    ],
    config.maintenanceIntervalMs,
    log,
  );

  return {
    services: [
      { name: "projects", routes: CONTRACT_ROUTES.projects, impl: projects },
      { name: "workspace", routes: CONTRACT_ROUTES.workspace, impl: workspace },
      { name: "vfs", routes: CONTRACT_ROUTES.vfs, impl: vfs },
      { name: "ai", routes: CONTRACT_ROUTES.ai, impl: ai },
    ],
    databases,
    metrics,
    authenticate: (header) => authenticate(databases.pool("projects"), header),
    upgrade: (req, socket, head) => projects.upgradeShare(req, socket, head),
    shareListener: projects.shareListener,
    terminals: workspace.terminals,
    health: () => Promise.all([projects.health(), workspace.health(), vfs.health(), ai.health()]),
    close: async () => {
      await maintenance.stop();
      await runner.stop();
      await workspace.close();
      await mongoClient?.close();
      await databases.close();
    },
  };
}
