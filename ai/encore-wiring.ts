import Anthropic from "@anthropic-ai/sdk";
import { secret } from "encore.dev/config";
import { SQLDatabase } from "encore.dev/storage/sqldb";
import { projects, vfs, workspace } from "~encore/clients";
import { loadConfig } from "../lib/config";
import { encoreLogger } from "../lib/encore";
import { missingSecret, secretValue, servicePool } from "../lib/startup";
import type { ProjectsApi } from "../projects/contract";
import type { WorkspaceApi } from "../workspace/contract";
import type { AiApi } from "./contract";
import { startAiRuntime } from "./runtime";
import type { JobVfs } from "./jobs/adapters";

const db = new SQLDatabase("ai", { migrations: "./migrations" });
const anthropicApiKey = secret("AnthropicAPIKey");

/** The projects service through Encore's generated client (traced), acting as the given user. */
const projectsClient: Pick<ProjectsApi, "get" | "recordActivity" | "appendMessage" | "conversation"> = {
  get: (req, auth) => projects.get(req, { authData: auth }),
  conversation: (req, auth) => projects.conversation(req, { authData: auth }),
  recordActivity: (req) => projects.recordActivity(req),
  appendMessage: (req) => projects.appendMessage(req),
};

/** The workspace service through Encore's generated client. */
const workspaceClient: WorkspaceApi = {
  health: () => workspace.health(),
  create: (req) => workspace.create(req),
  get: (req) => workspace.get(req),
  start: (req) => workspace.start(req),
  stop: (req) => workspace.stop(req),
  del: (req) => workspace.del(req),
  writeFiles: (req) => workspace.writeFiles(req),
  readFiles: (req) => workspace.readFiles(req),
  listFiles: (req) => workspace.listFiles(req),
  deleteFiles: (req) => workspace.deleteFiles(req),
  rename: (req) => workspace.rename(req),
  exec: (req) => workspace.exec(req),
  cancelExec: (req) => workspace.cancelExec(req),
  startProcess: (req) => workspace.startProcess(req),
  processLogs: (req) => workspace.processLogs(req),
  stopProcess: (req) => workspace.stopProcess(req),
  ensureDevServer: (req) => workspace.ensureDevServer(req),
  devServerLogs: (req) => workspace.devServerLogs(req),
  preview: (req) => workspace.preview(req),
  revokePreviewLinks: (req) => workspace.revokePreviewLinks(req),
  reconcile: () => workspace.reconcile(),
  openTerminal: (req) => workspace.openTerminal(req),
  listTerminals: (req) => workspace.listTerminals(req),
};

/** The vfs service through Encore's generated client, acting as the job's owner. */
const vfsClient: JobVfs & Pick<import("../vfs/contract").VfsApi, "health" | "recordVersion"> = {
  health: () => vfs.health(),
  writeFiles: (req, auth) => vfs.writeFiles(req, { authData: auth }),
  readFile: (req, auth) => vfs.readFile(req, { authData: auth }),
  backupWorkspace: (req, auth) => vfs.backupWorkspace(req, { authData: auth }),
  restoreWorkspace: (req, auth) => vfs.restoreWorkspace(req, { authData: auth }),
  saveThumbnail: (req, auth) => vfs.saveThumbnail(req, { authData: auth }),
  recordVersion: (req, auth) => vfs.recordVersion(req, { authData: auth }),
};

const apiKey = secretValue(anthropicApiKey);
const config = loadConfig();
const log = encoreLogger.child({ service: "ai" });

/**
 * The ai service and its job runner, started when Encore loads the service (at process start, before
 * any request): queued jobs run after a restart without waiting for someone to call an ai endpoint,
 * and the runner's calls to other services carry no request's trace or auth.
 */
export const aiRuntime = startAiRuntime({
  db: servicePool(db.connectionString, log),
  projects: projectsClient,
  workspace: workspaceClient,
  vfs: vfsClient,
  anthropic: new Anthropic({ apiKey: apiKey || null, baseURL: config.anthropicBaseUrl ?? null }),
  config,
  unconfigured: apiKey ? undefined : missingSecret("anthropic", "AnthropicAPIKey", "every generation calls Claude with it"),
  log,
});

/** The ai service under Encore. */
export function ai(): AiApi {
  return aiRuntime.ai;
}
