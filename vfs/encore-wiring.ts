import { secret } from "encore.dev/config";
import { projects, workspace } from "~encore/clients";
import { MongoClient } from "mongodb";
import { ConfigError, loadConfig, type Config } from "../lib/config";
import { encoreLogger } from "../lib/encore";
import { missingSecret, NotConfigured, secretValue, startInBackground } from "../lib/startup";
import { vfsRoutes, type VfsApi } from "./contract";
import { gitLimitsOf, type GitDeps } from "./git-service";
import { createVfsService } from "./service";

const mongoUri = secret("MongoDBURI");

/** The projects service reached through Encore's generated client, so ownership checks are traced. */
const projectsClient: GitDeps["projects"] = {
  get: (req, auth) => projects.get(req, { authData: auth }),
  create: (req, auth) => projects.create(req, { authData: auth }),
  recordActivity: (req) => projects.recordActivity(req),
  del: (req, auth) => projects.del(req, { authData: auth }),
};

/** The sandboxes to back up from and restore into (and a fork's new one), through Encore's generated client. */
const workspaceClient: GitDeps["workspace"] = {
  listFiles: (req) => workspace.listFiles(req),
  readFiles: (req) => workspace.readFiles(req),
  writeFiles: (req) => workspace.writeFiles(req),
  get: (req) => workspace.get(req),
  start: (req) => workspace.start(req),
  create: (req) => workspace.create(req),
  deleteFiles: (req) => workspace.deleteFiles(req),
  del: (req) => workspace.del(req),
  exec: (req) => workspace.exec(req),
};

const log = encoreLogger.child({ service: "vfs" });

/** Connects to the MongoDB of the MongoDBURI secret; an empty or malformed secret is final, an unreachable server is retried. */
async function openVfs(): Promise<VfsApi> {
  const uri = secretValue(mongoUri);
  if (!uri) throw missingSecret("mongodb", "MongoDBURI", "the vfs keeps every project file in MongoDB GridFS");
  let client: MongoClient;
  let config: Config;
  try {
    config = loadConfig();
    client = new MongoClient(uri, { serverSelectionTimeoutMS: 5000 });
  } catch (err) {
    if (err instanceof ConfigError) throw new NotConfigured("config", err.message);
    throw new NotConfigured("mongodb", `the MongoDBURI secret is not a MongoDB connection string: ${err instanceof Error ? err.message : String(err)}`);
  }
  try {
    await client.connect();
  } catch (err) {
    await client.close().catch(() => undefined);
    throw err;
  }
  return createVfsService({ mongo: client.db(config.mongodbDatabase), projects: projectsClient, workspace: workspaceClient, log, gitLimits: gitLimitsOf(config) });
}

/** Started when Encore loads the service; until MongoDB answers, health says why and calls answer unavailable. */
const service = startInBackground<VfsApi>({ service: "vfs", methods: Object.keys(vfsRoutes), start: openVfs, log });

/** The vfs service under Encore. */
export function vfs(): VfsApi {
  return service.api;
}
