import { AppError, invalidArgument, notFound } from "../lib/errors";
import type { Logger } from "../lib/log";
import type { AuthData } from "../lib/routes";
import { optionalText, pageLimit, requireText } from "../lib/validate";
import type { ProjectsApi } from "../projects/contract";
import type { ManifestEntry, VersionStatus, VfsApi } from "./contract";
import { projectIdOf, snapshotIdOf } from "./input";
import type { VfsStore } from "./store";
import { toVersion } from "./versions";
import { runningWorkspace, syncWorkspace, type VersionFile, type VersionWorkspace } from "./workspace-sync";

/** What the version endpoints need besides the store. */
export interface VersionDeps {
  /** Ownership, and the new project of a fork. */
  projects: Pick<ProjectsApi, "get" | "create" | "recordActivity">;
  /** The sandboxes a restore or a fork writes into. */
  workspace: VersionWorkspace;
  log: Logger;
  /** The most files one vfs write takes. */
  maxBatchFiles: number;
}

/** The version endpoints of the vfs. */
export type VersionMethods = Pick<VfsApi, "recordVersion" | "listVersions" | "getVersion" | "diffVersion" | "versionThumbnail" | "restoreVersion" | "forkVersion">;

const STATUSES: readonly VersionStatus[] = ["completed", "failed", "cancelled"];
/** What a version id (a snapshot's) looks like: lib/ids.ts `newId("snp")`. */
const VERSION_ID = /^snp_[0-9a-z]{1,96}$/;
/** Files whose blobs are read at once while a version is checked. */
const READ_PARALLELISM = 32;

/** Every file of a version with its bytes, each checked against its hash before anything is written anywhere. */
export async function readVersion(store: VfsStore, projectId: string, entries: readonly ManifestEntry[]): Promise<VersionFile[]> {
  const files: VersionFile[] = [];
  for (let i = 0; i < entries.length; i += READ_PARALLELISM) {
    const group = entries.slice(i, i + READ_PARALLELISM);
    files.push(...(await Promise.all(group.map(async (entry) => ({ ...entry, bytes: await store.readEntry(projectId, entry) })))));
  }
  return files;
}

/** A version id as a request gives it: `invalid_argument` naming `field` for anything that is not one. */
export function versionIdOf(field: string, value: unknown): string {
  const id = snapshotIdOf(field, value);
  if (!VERSION_ID.test(id)) throw invalidArgument(field, `${JSON.stringify(id)} is not a version id (they look like snp_06h3evf0fap1ptj4a5gvm4ynb8)`);
  return id;
}

/** The version endpoints, on the store (`using`) and the projects and workspace services. */
export function versionMethods(deps: VersionDeps, using: <T>(run: (store: VfsStore) => Promise<T>) => Promise<T>): VersionMethods {
  const project = (projectId: unknown, auth: AuthData) => deps.projects.get({ id: projectIdOf(projectId) }, auth);

  return {
    async recordVersion(req, auth) {
      const { id: projectId } = await project(req.projectId, auth);
      const jobId = requireText("jobId", req.jobId, { min: 1, max: 100 });
      const prompt = requireText("prompt", req.prompt, { min: 1, max: 20_000 });
      if (!STATUSES.includes(req.status)) throw invalidArgument("status", `must be one of ${STATUSES.join(", ")}`);
      const summary = optionalText("summary", req.summary, 200_000) ?? null;
      return using(async (s) => {
        // A generation whose final backup failed (or never ran) still leaves a version: the files as they are.
        const doc = (await s.jobSnapshot(projectId, jobId)) ?? (await s.snapshotNow(projectId, { jobId, label: `job ${jobId}` }));
        const thumbnailSha256 = await s.jobThumbnail(projectId, jobId);
        return s.versions.mark(doc, { kind: "generation", status: req.status, prompt, summary, source: null, thumbnailSha256 });
      });
    },

    async listVersions(req, auth) {
      const { id } = await project(req.projectId, auth);
      const limit = pageLimit("limit", req.limit, 20, 100);
      return using((s) => s.versions.list(id, limit, req.cursor));
    },

    async getVersion(req, auth) {
      const { id } = await project(req.projectId, auth);
      const versionId = versionIdOf("versionId", req.versionId);
      const doc = await using((s) => s.versions.get(id, versionId));
      return { version: toVersion(doc), files: doc.files };
    },

    async diffVersion(req, auth) {
      const { id } = await project(req.projectId, auth);
      const versionId = versionIdOf("versionId", req.versionId);
      const against = req.against === undefined ? undefined : versionIdOf("against", req.against);
      return using((s) => s.versions.diff(id, versionId, against));
    },

    async versionThumbnail(req, auth) {
      const { id } = await project(req.projectId, auth);
      const versionId = versionIdOf("versionId", req.versionId);
      return using(async (s) => {
        const doc = await s.versions.get(id, versionId);
        const sha256 = doc.version.thumbnailSha256;
        if (!sha256) throw notFound("thumbnail of version", versionId);
        const png = await s.readEntry(id, { path: `thumbnail of version ${versionId}`, sha256 });
        return { sha256, size: png.length, updatedAt: doc.createdAt.toISOString(), pngBase64: png.toString("base64") };
      });
    },

    async restoreVersion(req, auth) {
      const owned = await project(req.projectId, auth);
      const versionId = versionIdOf("versionId", req.versionId);
      if (owned.status === "generating") {
        throw new AppError("aborted", `project ${owned.id} has a generation running: restore when it ends, or cancel it first`);
      }
      return using(async (s) => {
        const doc = await s.versions.get(owned.id, versionId);
        const files = await readVersion(s, owned.id, doc.files);
        // The sandbox first: if it cannot take the files, the vfs is unchanged and the restore can be retried.
        const workspace = owned.workspaceId ? await deps.workspace.get({ id: owned.workspaceId }).catch(() => null) : null;
        const live = workspace !== null && workspace.status !== "deleted" && workspace.status !== "error";
        if (live) {
          await runningWorkspace(deps.workspace, workspace.id);
          await syncWorkspace(deps.workspace, workspace.id, files);
        }
        await s.replaceFiles(owned.id, files, {});
        const snapshot = await s.snapshotNow(owned.id, { label: `restore of ${versionId}` });
        const source = { projectId: owned.id, versionId };
        const version = await s.versions.mark(snapshot, { kind: "restore", status: "completed", prompt: null, summary: null, source, thumbnailSha256: doc.version.thumbnailSha256 });
        deps.log.info("version restored", { projectId: owned.id, versionId, newVersionId: version.id, files: files.length, workspaceSynced: live });
        return { version, workspaceSynced: live };
      });
    },

    async forkVersion(req, auth) {
      const original = await project(req.projectId, auth);
      const versionId = versionIdOf("versionId", req.versionId);
      const name = req.name === undefined ? `${original.name} (fork)`.slice(0, 100) : requireText("name", req.name, { min: 1, max: 100 });
      return using(async (s) => {
        const doc = await s.versions.get(original.id, versionId);
        const files = await readVersion(s, original.id, doc.files);
        const forked = await deps.projects.create({ name, description: original.description, template: original.template }, auth);
        for (let i = 0; i < files.length; i += deps.maxBatchFiles) await s.writeFiles(forked.id, files.slice(i, i + deps.maxBatchFiles), {});
        const snapshot = await s.snapshotNow(forked.id, { label: `fork of ${original.id} ${versionId}` });
        const source = { projectId: original.id, versionId };
        const version = await s.versions.mark(snapshot, { kind: "fork", status: "completed", prompt: null, summary: null, source, thumbnailSha256: null });
        const workspace = await deps.workspace.create({ projectId: forked.id, template: original.template });
        await deps.projects.recordActivity({ id: forked.id, workspaceId: workspace.id });
        try {
          await runningWorkspace(deps.workspace, workspace.id);
          await syncWorkspace(deps.workspace, workspace.id, files);
        } catch (err) {
          // A deleted workspace is re-created by the next generation and restored from the fork's version.
          deps.log.warn("the fork's workspace did not take its files; it is deleted so the next generation restores them", { projectId: forked.id, reason: err instanceof Error ? err.message : String(err) });
          await deps.workspace.del({ id: workspace.id }).catch(() => undefined);
        }
        deps.log.info("project forked", { projectId: original.id, versionId, forkId: forked.id, files: files.length });
        return { project: await deps.projects.get({ id: forked.id }, auth), version };
      });
    },
  };
}
