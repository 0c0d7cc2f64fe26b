import { secret } from "encore.dev/config";
import { projects, workspace } from "~encore/clients";
import { MongoClient } from "mongodb";
import { encoreLogger } from "../lib/encore";
import type { ProjectsApi } from "../projects/contract";
import type { VfsApi } from "./contract";
import type { WorkspaceFiles } from "./backup";
import { createVfsService } from "./service";

const mongoUri = secret("MongoDBURI");

/** The projects service reached through Encore's generated client, so ownership checks are traced. */
const projectsClient: Pick<ProjectsApi, "get"> = {
  get: (req, auth) => projects.get(req, { authData: auth }),
};

/** The sandboxes to back up from and restore into, through Encore's generated client. */
const workspaceClient: WorkspaceFiles = {
  listFiles: (req) => workspace.listFiles(req),
  readFiles: (req) => workspace.readFiles(req),
  writeFiles: (req) => workspace.writeFiles(req),
};

let instance: VfsApi | undefined;

/** The vfs service under Encore, built once on first use. */
export function vfs(): VfsApi {
  if (!instance) {
    const client = new MongoClient(mongoUri());
    instance = createVfsService({
      mongo: client.db("kiln"),
      projects: projectsClient,
      workspace: workspaceClient,
      log: encoreLogger.child({ service: "vfs" }),
    });
  }
  return instance;
}
