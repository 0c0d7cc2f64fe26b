import { fileURLToPath } from "node:url";
import { MongoClient } from "mongodb";
import { createAiService } from "../ai/service";
import type { Config } from "../lib/config";
import type { ServiceHealth } from "../lib/health";
import type { Logger } from "../lib/log";
import { openDatabases, type DatabaseOwner, type Databases } from "../lib/postgres";
import { createProjectsService } from "../projects/service";
import { authenticate } from "../projects/tokens";
import { createVfsService } from "../vfs/service";
import { createWorkspaceService } from "../workspace/service";
import { CONTRACT_ROUTES } from "./contracts";
import type { Authenticate, MountedService } from "./mount";

/** The services that own a Postgres database, with their migrations. */
export const DATABASE_OWNERS: DatabaseOwner[] = ["projects", "workspace", "ai"].map((service) => ({
  service,
  migrationsDir: fileURLToPath(new URL(`../${service}/migrations`, import.meta.url)),
}));

/** Where the standalone composition keeps its state, beyond the configuration. */
export interface ComposeOptions {
  /** Keep embedded Postgres in memory instead of under the data directory (tests). */
  inMemoryDatabase?: boolean;
  /** Prefix for every schema (tests sharing one Postgres server). */
  schemaPrefix?: string;
}

/** Kiln assembled for one process: every service, wired to the others directly. */
export interface Kiln {
  services: MountedService[];
  databases: Databases;
  /** Verifies a request's bearer token (the projects service's tokens). */
  authenticate: Authenticate;
  health(): Promise<ServiceHealth[]>;
  close(): Promise<void>;
}

/**
 * The standalone composition root: opens the databases, builds each service from its dependencies and
 * hands each service the others' implementations where Encore would hand it `~encore/clients`.
 */
export async function composeKiln(config: Config, log: Logger, options: ComposeOptions = {}): Promise<Kiln> {
  const databases = await openDatabases(DATABASE_OWNERS, {
    url: config.databaseUrl,
    dataDir: options.inMemoryDatabase ? null : config.dataDir,
    schemaPrefix: options.schemaPrefix,
    log,
  });
  const mongoClient = config.mongodbUri ? new MongoClient(config.mongodbUri, { serverSelectionTimeoutMS: 3000 }) : null;

  const projects = createProjectsService({ db: databases.pool("projects"), log: log.child({ service: "projects" }) });
  const workspace = createWorkspaceService({ db: databases.pool("workspace"), log: log.child({ service: "workspace" }) });
  const vfs = createVfsService({ mongo: mongoClient?.db(config.mongodbDatabase) ?? null, log: log.child({ service: "vfs" }) });
  const ai = createAiService({ db: databases.pool("ai"), workspace, vfs, log: log.child({ service: "ai" }) });

  return {
    services: [
      { name: "projects", routes: CONTRACT_ROUTES.projects, impl: projects },
      { name: "workspace", routes: CONTRACT_ROUTES.workspace, impl: workspace },
      { name: "vfs", routes: CONTRACT_ROUTES.vfs, impl: vfs },
      { name: "ai", routes: CONTRACT_ROUTES.ai, impl: ai },
    ],
    databases,
    authenticate: (header) => authenticate(databases.pool("projects"), header),
    health: () => Promise.all([projects.health(), workspace.health(), vfs.health(), ai.health()]),
    close: async () => {
      await mongoClient?.close();
      await databases.close();
    },
  };
}
