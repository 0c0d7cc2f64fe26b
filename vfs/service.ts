import { MongoNetworkError, MongoServerSelectionError, type Db } from "mongodb";
import { AppError } from "../lib/errors";
import { runCheck, summarize } from "../lib/health";
import { errorFields, type Logger } from "../lib/log";
import type { AuthData } from "../lib/routes";
import { inSpan } from "../lib/tracing";
import { optionalBoolean, optionalText, pageLimit, requireText } from "../lib/validate";
import type { VfsApi } from "./contract";
import { changeLabel, DEFAULT_LIMITS, decodeUploads, optionalInteger, pathList, projectIdOf, snapshotIdOf, type VfsLimits } from "./input";
import { directoryPath, filePath } from "./paths";
import { backupWorkspace, restoreWorkspace } from "./backup";
import { VfsStore } from "./store";
import { DEFAULT_GIT_LIMITS, gitMethods, type GitDeps, type GitLimits } from "./git-service";
import { versionMethods } from "./version-service";

/** What the vfs service needs from its host. */
export interface VfsDeps {
  /** Its MongoDB database, when one is configured. */
  mongo: Db | null;
  /** Who owns which project (every exposed call asks it first), and where a fork's or an import's project is made. */
  projects: GitDeps["projects"];
  /** The sandboxes to back up from and restore into, and where git clones and pushes. */
  workspace: GitDeps["workspace"];
  log: Logger;
  limits?: Partial<VfsLimits>;
  /** How big a repository a git import takes. */
  gitLimits?: GitLimits;
}

const DEFAULT_SWEEP_AGE_SECONDS = 3600;
const MAX_THUMBNAIL_BYTES = 4 * 1024 * 1024;
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** A thumbnail's bytes: base64 of a PNG of at most 4 MiB, or `invalid_argument` saying which it is not. */
function pngOf(value: unknown): Buffer {
  const text = requireText("pngBase64", value, { min: 1, max: Math.ceil((MAX_THUMBNAIL_BYTES * 4) / 3) + 4 });
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw new AppError("invalid_argument", "pngBase64: must be base64");
  const png = Buffer.from(text, "base64");
  if (png.length > MAX_THUMBNAIL_BYTES) throw new AppError("invalid_argument", `pngBase64: the image is ${png.length} bytes; at most ${MAX_THUMBNAIL_BYTES} are kept`);
  if (png.length < 33 || !png.subarray(0, 8).equals(PNG_SIGNATURE)) throw new AppError("invalid_argument", "pngBase64: must be a PNG image");
  return png;
}

/** What health says when the vfs runs on the in-memory MongoDB stand-in (the offline demo). */
export const STAND_IN_WARNING = "MongoDB stand-in (in memory): files are not durable and vanish when Kiln stops";
const MAX_PAGE = 500;

/** The driver's "cannot reach the server" errors become `unavailable`; anything else is unchanged. */
function unreachableAsUnavailable(err: unknown): unknown {
  if (err instanceof MongoServerSelectionError || err instanceof MongoNetworkError) {
    return new AppError("unavailable", "the vfs database (MongoDB) is unreachable; try again shortly");
  }
  return err;
}

/** The vfs service, framework-free: validates requests, checks ownership, then runs the store. */
export function createVfsService(deps: VfsDeps): VfsApi {
  const limits: VfsLimits = { ...DEFAULT_LIMITS, ...deps.limits };
  let opening: Promise<VfsStore> | undefined;

  /** The store, opened (indexes created) once; a failed open is retried by the next call. */
  const store = (): Promise<VfsStore> => {
    const db = deps.mongo;
    if (!db) return Promise.reject(new AppError("unavailable", "the vfs is not configured: set MONGODB_URI to a MongoDB server"));
    opening ??= VfsStore.open(db).catch((err: unknown) => {
      opening = undefined;
      throw err;
    });
    return opening;
  };

  const using = async <T>(run: (store: VfsStore) => Promise<T>): Promise<T> => {
    try {
      return await run(await store());
    } catch (err) {
      throw unreachableAsUnavailable(err);
    }
  };

  /** The project id of a request, once the caller is known to own it (else the projects service's 404). */
  const owned = async (projectId: unknown, auth: AuthData): Promise<string> => {
    const id = projectIdOf(projectId);
    await deps.projects.get({ id }, auth);
    return id;
  };

  const sweep: VfsApi["sweep"] = async (req) => {
    const projectId = req.projectId === undefined ? undefined : projectIdOf(req.projectId);
    const age = optionalInteger("olderThanSeconds", req.olderThanSeconds, 0, 365 * 24 * 3600) ?? DEFAULT_SWEEP_AGE_SECONDS;
    const result = await using((s) => s.sweep(projectId, new Date(Date.now() - age * 1000)));
    deps.log.info("vfs orphan sweep", { projectId, ...result });
    return result;
  };

  if (deps.mongo) {
    store().catch((err: unknown) => deps.log.warn("vfs indexes not created at start; retrying on first use", errorFields(err)));
  }

  return {
    async health() {
      const mongo = await runCheck("mongodb", async () => {
        if (!deps.mongo) throw new Error("MONGODB_URI is not set");
        const info = await deps.mongo.command({ buildInfo: 1 });
        if (info.kilnStandIn === true) return { status: "warn", detail: STAND_IN_WARNING };
      });
      return summarize("vfs", [mongo]);
    },

    async writeFiles(req, auth) {
      const projectId = await owned(req.projectId, auth);
      const files = decodeUploads(req.files, limits);
      const label = changeLabel(req);
      const bytes = files.reduce((sum, f) => sum + f.bytes.length, 0);
      return inSpan("vfs.writeFiles", { "kiln.project_id": projectId, "kiln.files": files.length, "kiln.bytes": bytes }, async (span) => {
        const result = await using((s) => s.writeFiles(projectId, files, label));
        span.setAttribute("kiln.uploaded_blobs", result.uploadedBlobs);
        return result;
      });
    },

    async readFile(req, auth) {
      const projectId = await owned(req.projectId, auth);
      const path = filePath("path", req.path);
      const revision = optionalInteger("revision", req.revision, 1, Number.MAX_SAFE_INTEGER);
      return using((s) => s.readFile(projectId, path, revision));
    },

    async listFiles(req, auth) {
      const projectId = await owned(req.projectId, auth);
      const directory = directoryPath("prefix", req.prefix);
      const recursive = optionalBoolean("recursive", req.recursive) ?? true;
      return using((s) => s.listFiles(projectId, directory, recursive));
    },

    async deleteFiles(req, auth) {
      const projectId = await owned(req.projectId, auth);
      const paths = pathList("paths", req.paths, limits.maxBatchFiles);
      const label = changeLabel(req);
      return using((s) => s.deleteFiles(projectId, paths, label));
    },

    async renamePath(req, auth) {
      const projectId = await owned(req.projectId, auth);
      const from = filePath("from", req.from);
      const to = filePath("to", req.to);
      const label = changeLabel(req);
      return using((s) => s.renamePath(projectId, from, to, label));
    },

    async fileHistory(req, auth) {
      const projectId = await owned(req.projectId, auth);
      const path = filePath("path", req.path);
      const limit = pageLimit("limit", req.limit, 100, MAX_PAGE);
      return { entries: await using((s) => s.fileHistory(projectId, path, limit)) };
    },

    async createSnapshot(req, auth) {
      const projectId = await owned(req.projectId, auth);
      const label = { ...changeLabel(req), label: optionalText("label", req.label, 200) };
      return using((s) => s.createSnapshot(projectId, label));
    },

    async listSnapshots(req, auth) {
      const projectId = await owned(req.projectId, auth);
      const limit = pageLimit("limit", req.limit, 100, MAX_PAGE);
      return { snapshots: await using((s) => s.listSnapshots(projectId, limit)) };
    },

    async getSnapshot(req, auth) {
      const projectId = await owned(req.projectId, auth);
      const snapshotId = snapshotIdOf("snapshotId", req.snapshotId);
      return using((s) => s.getSnapshot(projectId, snapshotId));
    },

    async diffSnapshots(req, auth) {
      const projectId = await owned(req.projectId, auth);
      const from = snapshotIdOf("from", req.from);
      const to = snapshotIdOf("to", req.to);
      return using((s) => s.diffSnapshots(projectId, from, to));
    },

    async backupWorkspace(req, auth) {
      const projectId = await owned(req.projectId, auth);
      const workspaceId = requireText("workspaceId", req.workspaceId, { min: 1, max: 100 });
      const label = { ...changeLabel(req), label: optionalText("label", req.label, 200) };
      const result = await inSpan("vfs.backupWorkspace", { "kiln.project_id": projectId, "kiln.workspace_id": workspaceId }, async (span) => {
        const outcome = await using((s) => backupWorkspace(s, deps.workspace, { projectId, workspaceId, label }, limits));
        span.setAttributes({ "kiln.changed": outcome.changed, "kiln.deleted": outcome.deleted, "kiln.uploaded_blobs": outcome.uploadedBlobs });
        return outcome;
      });
      deps.log.info("workspace backed up", { projectId, workspaceId, changed: result.changed, deleted: result.deleted, uploadedBlobs: result.uploadedBlobs });
      return result;
    },

    async restoreWorkspace(req, auth) {
      const projectId = await owned(req.projectId, auth);
      const workspaceId = requireText("workspaceId", req.workspaceId, { min: 1, max: 100 });
      const snapshotId = req.snapshotId === undefined ? undefined : snapshotIdOf("snapshotId", req.snapshotId);
      return using((s) => restoreWorkspace(s, deps.workspace, { projectId, workspaceId, snapshotId }));
    },

    async saveThumbnail(req, auth) {
      const projectId = await owned(req.projectId, auth);
      const png = pngOf(req.pngBase64);
      const jobId = optionalText("jobId", req.jobId, 100) ?? null;
      return using((s) => s.saveThumbnail(projectId, png, jobId));
    },

    async thumbnail(req, auth) {
      const projectId = await owned(req.projectId, auth);
      return using((s) => s.thumbnail(projectId));
    },

    async purgeProject(req) {
      const projectId = projectIdOf(req.projectId);
      const result = await using((s) => s.purgeProject(projectId));
      deps.log.info("vfs project purged", { projectId, ...result });
      return result;
    },

    ...versionMethods({ projects: deps.projects, workspace: deps.workspace, log: deps.log, maxBatchFiles: limits.maxBatchFiles }, using),

    ...gitMethods({ projects: deps.projects, workspace: deps.workspace, log: deps.log, maxBatchFiles: limits.maxBatchFiles, vfsLimits: limits, gitLimits: deps.gitLimits ?? DEFAULT_GIT_LIMITS }, using),

    sweep,

    sweepAll: () => sweep({}),
  };
}
