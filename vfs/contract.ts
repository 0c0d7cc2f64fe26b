import type { ServiceHealth } from "../lib/health";
import { FILE_CALL_BODY_LIMIT, type AuthData, type Routes } from "../lib/routes";
import type { Project } from "../projects/contract";

/** Who made a change: the generation job and the turn of its agent loop, when a job made it. */
export interface ChangeLabel {
  jobId?: string;
  /** The agent loop's turn number within the job (0 or more). */
  turn?: number;
}

/** One file to store: its relative POSIX path and its bytes in base64. */
export interface FileUpload {
  /** A relative POSIX path such as `src/App.tsx`: no leading `/`, no `..`, no backslash, at most 1024 bytes. */
  path: string;
  /** The file's exact bytes, base64-encoded (binary files round-trip byte for byte). */
  contentBase64: string;
  /** Unix permission bits (0–4095), default 420 (0o644). */
  mode?: number;
}

/** Stores a batch of files in one revision: unchanged files are skipped, stored blobs are not uploaded again. */
export interface WriteFilesRequest extends ChangeLabel {
  projectId: string;
  files: FileUpload[];
}

/** What a write did to one path. */
export interface WrittenFile {
  path: string;
  sha256: string;
  size: number;
  /** True when the path already held these bytes and mode: nothing was recorded for it. */
  unchanged: boolean;
}

/** The outcome of a batch write. */
export interface WriteFilesResult {
  /** The project revision the batch created; null when every file was unchanged. */
  revision: number | null;
  files: WrittenFile[];
  /** How many new blobs were uploaded to GridFS (content already stored is never uploaded again). */
  uploadedBlobs: number;
}

/** Reads one file, as it is now or as it was at a project revision. */
export interface ReadFileRequest {
  projectId: string;
  path: string;
  /** A project revision; absent means the current version. */
  revision?: number;
}

/** A file's current entry in the project's manifest. */
export interface FileInfo {
  path: string;
  sha256: string;
  size: number;
  mode: number;
  /** The project revision that last changed this path. */
  revision: number;
  updatedAt: string;
}

/** A file's bytes with its entry. */
export interface FileContent extends FileInfo {
  contentBase64: string;
}

/** Lists the files under a directory. */
export interface ListFilesRequest {
  projectId: string;
  /** A directory such as `src/components`; absent or empty means the project root. */
  prefix?: string;
  /** Every file below the directory (default), or only its direct children and subdirectory names. */
  recursive?: boolean;
}

/** The files under a directory, sorted by path. */
export interface FileList {
  files: FileInfo[];
  /** Non-recursive listings only: the names of the direct subdirectories (full paths), sorted. */
  directories: string[];
}

/**
 * Deletes files and directories (a directory is every file under `path/`, never a sibling like
 * `path2/`). Paths that hold nothing are ignored, so a delete can be repeated safely.
 */
export interface DeleteFilesRequest extends ChangeLabel {
  projectId: string;
  /** Files or directories to delete. */
  paths: string[];
}

/** Moves a file, or a directory with everything under it. */
export interface RenamePathRequest extends ChangeLabel {
  projectId: string;
  from: string;
  to: string;
}

/** The paths a delete or rename changed, with the revision it created (null when nothing changed). */
export interface ChangeResult {
  revision: number | null;
  /** Deleted paths, or the new paths of renamed files. */
  paths: string[];
}

/** Asks for the changes of one path, newest first. */
export interface FileHistoryRequest {
  projectId: string;
  path: string;
  /** 1–500, default 100. */
  limit?: number;
}

/** What a recorded change did. */
export type ChangeAction = "write" | "delete" | "rename";

/** One recorded change of a path. */
export interface RevisionEntry {
  revision: number;
  action: ChangeAction;
  /** The path after the change (the new path of a rename). */
  path: string;
  /** Renames: the path before the change; null otherwise. */
  previousPath: string | null;
  /** The content after the change; null for a delete. */
  sha256: string | null;
  size: number | null;
  jobId: string | null;
  turn: number | null;
  at: string;
}

/** A path's changes, newest first. */
export interface FileHistory {
  entries: RevisionEntry[];
}

/** Records the project's current files as a snapshot (a checkpoint to diff against or restore). */
export interface CreateSnapshotRequest extends ChangeLabel {
  projectId: string;
  /** A short human label ("before dark mode"), up to 200 characters. */
  label?: string;
}

/** A snapshot without its manifest. */
export interface SnapshotInfo {
  id: string;
  /** The project revision the snapshot captured. */
  revision: number;
  label: string | null;
  jobId: string | null;
  turn: number | null;
  fileCount: number;
  totalBytes: number;
  createdAt: string;
}

/** One file of a snapshot's manifest. */
export interface ManifestEntry {
  path: string;
  sha256: string;
  size: number;
  mode: number;
}

/** Asks for one page of a project's snapshots, newest first. */
export interface ListSnapshotsRequest {
  projectId: string;
  /** 1–500, default 100. */
  limit?: number;
}

/** A project's snapshots, newest first. */
export interface SnapshotList {
  snapshots: SnapshotInfo[];
}

/** Names one snapshot of a project. */
export interface SnapshotRef {
  projectId: string;
  snapshotId: string;
}

/** A snapshot with its manifest, sorted by path. */
export interface Snapshot {
  snapshot: SnapshotInfo;
  files: ManifestEntry[];
}

/** Compares two snapshots of a project. */
export interface DiffSnapshotsRequest {
  projectId: string;
  /** The older snapshot's id. */
  from: string;
  /** The newer snapshot's id. */
  to: string;
}

/** The paths that differ between two snapshots, each list sorted. */
export interface SnapshotDiff {
  added: string[];
  /** Paths whose content or mode differs. */
  changed: string[];
  removed: string[];
}

/** Names a project, for service-to-service calls. */
export interface ProjectFilesRef {
  projectId: string;
}

/** Makes a PNG the project's thumbnail (the screenshot of its last passing check). */
export interface SaveThumbnailRequest {
  projectId: string;
  /** The generation that took it. */
  jobId?: string;
  /** A PNG image, base64; at most 4 MiB. */
  pngBase64: string;
}

/** A stored thumbnail: its content hash (what caches key on), size and when it was taken. */
export interface ThumbnailInfo {
  sha256: string;
  size: number;
  updatedAt: string;
}

/** A thumbnail with its PNG (base64). */
export interface Thumbnail extends ThumbnailInfo {
  pngBase64: string;
}

/** How a version came to be: a generation ended, a version was restored, the project was forked from one, or imported from git. */
export type VersionKind = "generation" | "restore" | "fork" | "import";

/** How the generation behind a version ended ("completed" for restores and forks). */
export type VersionStatus = "completed" | "failed" | "cancelled";

/** What a version did to one path, against the version before it. */
export interface FileChange {
  path: string;
  change: "added" | "modified" | "deleted";
  /** Lines added and removed; null for binary files and text over the diff limit (1 MiB a side). */
  linesAdded: number | null;
  linesRemoved: number | null;
}

/**
 * A version of a project: a snapshot of its files left by a generation that ended (or by a restore or a
 * fork), with what that generation was asked and said, and what it changed.
 */
export interface Version {
  /** The snapshot's id. */
  id: string;
  /** The project revision its files are. */
  revision: number;
  kind: VersionKind;
  status: VersionStatus;
  /** The generation that left it (generation versions). */
  jobId: string | null;
  prompt: string | null;
  /** The agent's summary, or why the generation failed. */
  summary: string | null;
  /** Restores: the version restored; forks: the version of the original project. */
  source: { projectId: string; versionId: string } | null;
  fileCount: number;
  totalBytes: number;
  /** Against the previous version (every file is added in the first), sorted by path. */
  changes: FileChange[];
  /** The screenshot its generation's passing check took (`GET /vfs/:projectId/versions/:versionId/thumbnail`). */
  thumbnailSha256: string | null;
  createdAt: string;
}

/** Marks the snapshot a generation's final backup left as its version (service-to-service, at the end of every job). */
export interface RecordVersionRequest {
  projectId: string;
  jobId: string;
  prompt: string;
  status: VersionStatus;
  summary?: string;
}

/** One page of a project's versions, newest first. */
export interface ListVersionsRequest {
  projectId: string;
  /** 1–100, default 20. */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

/** A page of versions. */
export interface VersionPage {
  versions: Version[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

/** Names one version of a project. */
export interface VersionRef {
  projectId: string;
  versionId: string;
}

/** A version with its files, sorted by path. */
export interface VersionDetail {
  version: Version;
  files: ManifestEntry[];
}

/** Compares a version with another (by default the one before it). */
export interface DiffVersionRequest extends VersionRef {
  /** The older version's id; absent means the version before `versionId`. */
  against?: string;
}

/** How one path differs between two versions. */
export interface FileDiff extends FileChange {
  /** Either side is not UTF-8 text: the diff says only "binary changed". */
  binary: boolean;
  /** A unified diff (3 lines of context) for text; "binary changed" for binary files; null over the diff limit. */
  patch: string | null;
}

/** Every path that differs between two versions, sorted. */
export interface VersionDiff {
  /** The older version; null when `versionId` is the first (everything is added). */
  from: string | null;
  to: string;
  files: FileDiff[];
}

/** What restoring a version did. */
export interface RestoreVersionResult {
  /** The new version: the restored files as the project's new head revision (no history is rewritten). */
  version: Version;
  /** Whether the project's running workspace now holds exactly those files (false: it has none running; the next generation's restores them). */
  workspaceSynced: boolean;
}

/** Makes a new project from a version. */
export interface ForkVersionRequest extends VersionRef {
  /** The new project's name (1–100 characters); "<name> (fork)" by default. */
  name?: string;
}

/** A project forked from a version. */
export interface ForkResult {
  project: Project;
  /** The fork's first version. */
  version: Version;
}

/** Makes a new project from a git repository (its default branch, as it is now). */
export interface ImportGitRequest {
  /** An `https://` or `http://` repository URL, without credentials. */
  url: string;
  /** A private repository's token (sent as the password of user x-access-token), for this import only: never stored, logged or kept in the sandbox. */
  token?: string;
  /** The new project's name (1–100 characters); the repository's name by default. */
  name?: string;
}

/** A project imported from git. */
export interface ImportGitResult {
  project: Project;
  /** Its first version: the repository's files. */
  version: Version;
  /** What was not imported: symlinks, submodules, and files the vfs cannot keep. */
  skipped: string[];
}

/** Pushes a version's files as one commit to a branch of a git remote. */
export interface PushVersionRequest extends VersionRef {
  /** An `https://` or `http://` remote URL, without credentials. */
  url: string;
  /** A token for this push only (sent as the HTTP password): never stored, logged or echoed. */
  token?: string;
  /** The branch to push to (created or replaced); `main` by default. */
  branch?: string;
}

/** What a push did. */
export interface PushVersionResult {
  /** The commit pushed (author Kiln, message from the version's prompt). */
  commit: string;
  branch: string;
  /** The remote, as given (it never holds credentials). */
  url: string;
  files: number;
}

/** What purging a project removed. */
export interface PurgeResult {
  files: number;
  revisions: number;
  snapshots: number;
  blobs: number;
}

/** Collects blobs nothing references. */
export interface SweepRequest {
  /** One project's blobs; absent means every project's. */
  projectId?: string;
  /** Only blobs unused for at least this long (default 3600): a write in progress is never swept. */
  olderThanSeconds?: number;
}

/** A request with no fields (what a cron job's endpoint takes). */
export type Empty = Record<string, never>;

/** What a sweep deleted. */
export interface SweepResult {
  deletedBlobs: number;
  deletedBytes: number;
}

/** Backs a workspace up into the project's vfs (incremental) and snapshots it. */
export interface BackupWorkspaceRequest extends ChangeLabel {
  projectId: string;
  workspaceId: string;
  /** A label for the snapshot ("completion", "job job_x"). */
  label?: string;
}

/** What a backup did. */
export interface BackupResult {
  snapshot: SnapshotInfo;
  /** Files new or changed in the sandbox, read from it in one call. */
  changed: number;
  unchanged: number;
  deleted: number;
  /** New blobs written to GridFS (content already stored is never uploaded again). */
  uploadedBlobs: number;
  /** Files the vfs cannot keep (over its size limit, or a name its path check refuses, such as `-rf`), not stored. */
  skipped: string[];
}

/** Restores a snapshot (the latest by default) into a workspace. */
export interface RestoreWorkspaceRequest {
  projectId: string;
  workspaceId: string;
  snapshotId?: string;
}

/** What a restore wrote. */
export interface RestoreResult {
  files: number;
  snapshotId: string | null;
}

/**
 * The vfs service: the durable copy of every project file, content-addressed in MongoDB GridFS, with
 * a revision for every change and snapshots per turn. Exposed methods are scoped to the caller's
 * projects (another user's project is `not_found`).
 */
export interface VfsApi {
  /** The service's health: its MongoDB connection. */
  health(): Promise<ServiceHealth>;
  /** Stores a batch of files as one revision, uploading only content not stored yet. */
  writeFiles(req: WriteFilesRequest, auth: AuthData): Promise<WriteFilesResult>;
  /** One file's bytes, current or at a revision. */
  readFile(req: ReadFileRequest, auth: AuthData): Promise<FileContent>;
  /** The files under a directory, recursively or one level. */
  listFiles(req: ListFilesRequest, auth: AuthData): Promise<FileList>;
  /** Deletes files and directories (by path prefix, never by substring) as one revision. */
  deleteFiles(req: DeleteFilesRequest, auth: AuthData): Promise<ChangeResult>;
  /** Moves a file or a directory as one revision; the target must not exist. */
  renamePath(req: RenamePathRequest, auth: AuthData): Promise<ChangeResult>;
  /** A path's changes, newest first (renames away from it included). */
  fileHistory(req: FileHistoryRequest, auth: AuthData): Promise<FileHistory>;
  /** Records the project's current manifest as a snapshot. */
  createSnapshot(req: CreateSnapshotRequest, auth: AuthData): Promise<SnapshotInfo>;
  /** The project's snapshots, newest first. */
  listSnapshots(req: ListSnapshotsRequest, auth: AuthData): Promise<SnapshotList>;
  /** A snapshot with its manifest. */
  getSnapshot(req: SnapshotRef, auth: AuthData): Promise<Snapshot>;
  /** The paths added, changed and removed between two snapshots. */
  diffSnapshots(req: DiffSnapshotsRequest, auth: AuthData): Promise<SnapshotDiff>;
  /** Backs a workspace up incrementally and snapshots it (service-to-service, for the job's owner). */
  backupWorkspace(req: BackupWorkspaceRequest, auth: AuthData): Promise<BackupResult>;
  /** Writes a snapshot's files into a workspace in one batch (service-to-service, for the job's owner). */
  restoreWorkspace(req: RestoreWorkspaceRequest, auth: AuthData): Promise<RestoreResult>;
  /** Makes a PNG the project's thumbnail (service-to-service, for the job's owner). */
  saveThumbnail(req: SaveThumbnailRequest, auth: AuthData): Promise<ThumbnailInfo>;
  /** The project's thumbnail: the screenshot of its app at its last passing check. */
  thumbnail(req: ProjectFilesRef, auth: AuthData): Promise<Thumbnail>;
  /** Leaves a generation's version: its final snapshot (made now if the backup left none) with its prompt, outcome and changes. */
  recordVersion(req: RecordVersionRequest, auth: AuthData): Promise<Version>;
  /** The project's versions, newest first, a page at a time. */
  listVersions(req: ListVersionsRequest, auth: AuthData): Promise<VersionPage>;
  /** One version with its files. */
  getVersion(req: VersionRef, auth: AuthData): Promise<VersionDetail>;
  /** Per file, how a version differs from another (the one before it by default): unified diffs for text. */
  diffVersion(req: DiffVersionRequest, auth: AuthData): Promise<VersionDiff>;
  /** The thumbnail a version's generation took, or `not_found`. */
  versionThumbnail(req: VersionRef, auth: AuthData): Promise<Thumbnail>;
  /**
   * Makes a version's files the project's again: the running workspace gets exactly them, and the vfs a
   * new head revision and version with them. `aborted` (409) while a generation runs.
   */
  restoreVersion(req: VersionRef, auth: AuthData): Promise<RestoreVersionResult>;
  /** A new project of the caller's with a version's files, in a fresh workspace. */
  forkVersion(req: ForkVersionRequest, auth: AuthData): Promise<ForkResult>;
  /** A new project of the caller's from a git repository, cloned inside its sandbox; its files become the first version. */
  importGit(req: ImportGitRequest, auth: AuthData): Promise<ImportGitResult>;
  /** Pushes a version's files as one commit to a git remote's branch, from a sandbox of its own. */
  pushVersion(req: PushVersionRequest, auth: AuthData): Promise<PushVersionResult>;
  /** Removes every file, revision, snapshot, blob and thumbnail of a project (service-to-service). */
  purgeProject(req: ProjectFilesRef): Promise<PurgeResult>;
  /** Deletes blobs no file, revision or snapshot references (service-to-service; never in the write path). */
  sweep(req: SweepRequest): Promise<SweepResult>;
  /** The scheduled sweep (Encore's cron job, the standalone maintenance loop): every project, blobs unused for an hour. */
  sweepAll(req: Empty): Promise<SweepResult>;
}

/** Where each VfsApi method is served (mirrored by vfs/api.ts). */
export const vfsRoutes = {
  health: { method: "GET", path: "/vfs/health", expose: true, auth: false, fields: {} },
  writeFiles: { method: "POST", path: "/vfs/:projectId/files", expose: true, auth: true, bodyLimit: FILE_CALL_BODY_LIMIT },
  readFile: {
    method: "GET",
    path: "/vfs/:projectId/file",
    expose: true,
    auth: true,
    fields: { projectId: "string", path: "string", revision: "number" },
  },
  listFiles: {
    method: "GET",
    path: "/vfs/:projectId/files",
    expose: true,
    auth: true,
    fields: { projectId: "string", prefix: "string", recursive: "boolean" },
  },
  deleteFiles: {
    method: "DELETE",
    path: "/vfs/:projectId/files",
    expose: true,
    auth: true,
    fields: { projectId: "string", paths: "string[]", jobId: "string", turn: "number" },
  },
  renamePath: { method: "POST", path: "/vfs/:projectId/rename", expose: true, auth: true },
  fileHistory: {
    method: "GET",
    path: "/vfs/:projectId/history",
    expose: true,
    auth: true,
    fields: { projectId: "string", path: "string", limit: "number" },
  },
  createSnapshot: { method: "POST", path: "/vfs/:projectId/snapshots", expose: true, auth: true },
  listSnapshots: {
    method: "GET",
    path: "/vfs/:projectId/snapshots",
    expose: true,
    auth: true,
    fields: { projectId: "string", limit: "number" },
  },
  getSnapshot: {
    method: "GET",
    path: "/vfs/:projectId/snapshots/:snapshotId",
    expose: true,
    auth: true,
    fields: { projectId: "string", snapshotId: "string" },
  },
  diffSnapshots: {
    method: "GET",
    path: "/vfs/:projectId/diff",
    expose: true,
    auth: true,
    fields: { projectId: "string", from: "string", to: "string" },
  },
  backupWorkspace: { method: "POST", path: "/vfs/:projectId/backup", expose: false, auth: true },
  restoreWorkspace: { method: "POST", path: "/vfs/:projectId/restore", expose: false, auth: true },
  saveThumbnail: { method: "POST", path: "/vfs/:projectId/thumbnail", expose: false, auth: true, bodyLimit: FILE_CALL_BODY_LIMIT },
  thumbnail: { method: "GET", path: "/vfs/:projectId/thumbnail", expose: true, auth: true, fields: { projectId: "string" } },
  recordVersion: { method: "POST", path: "/vfs/:projectId/versions", expose: false, auth: true },
  listVersions: {
    method: "GET",
    path: "/vfs/:projectId/versions",
    expose: true,
    auth: true,
    fields: { projectId: "string", limit: "number", cursor: "string" },
  },
  getVersion: {
    method: "GET",
    path: "/vfs/:projectId/versions/:versionId",
    expose: true,
    auth: true,
    fields: { projectId: "string", versionId: "string" },
  },
  diffVersion: {
    method: "GET",
    path: "/vfs/:projectId/versions/:versionId/diff",
    expose: true,
    auth: true,
    fields: { projectId: "string", versionId: "string", against: "string" },
  },
  versionThumbnail: {
    method: "GET",
    path: "/vfs/:projectId/versions/:versionId/thumbnail",
    expose: true,
    auth: true,
    fields: { projectId: "string", versionId: "string" },
  },
  restoreVersion: { method: "POST", path: "/vfs/:projectId/versions/:versionId/restore", expose: true, auth: true },
  forkVersion: { method: "POST", path: "/vfs/:projectId/versions/:versionId/fork", expose: true, auth: true },
  importGit: { method: "POST", path: "/vfs/git/import", expose: true, auth: true },
  pushVersion: { method: "POST", path: "/vfs/:projectId/versions/:versionId/push", expose: true, auth: true },
  purgeProject: { method: "DELETE", path: "/vfs/:projectId", expose: false, auth: false, fields: { projectId: "string" } },
  sweep: { method: "POST", path: "/vfs/sweep", expose: false, auth: false },
  sweepAll: { method: "POST", path: "/vfs/sweep/all", expose: false, auth: false },
} as const satisfies Routes<VfsApi>;
