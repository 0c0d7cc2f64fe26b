import { api } from "encore.dev/api";
import { CronJob } from "encore.dev/cron";
import { getAuthData } from "~encore/auth";
import { call } from "../lib/encore";
import type { ServiceHealth } from "../lib/health";
import type { AuthData } from "../lib/routes";
import type {
  BackupResult,
  BackupWorkspaceRequest,
  RestoreResult,
  RestoreWorkspaceRequest,
  SaveThumbnailRequest,
  Thumbnail,
  ThumbnailInfo,
  ChangeResult,
  CreateSnapshotRequest,
  DeleteFilesRequest,
  DiffSnapshotsRequest,
  FileContent,
  FileHistory,
  FileHistoryRequest,
  FileList,
  ListFilesRequest,
  ListSnapshotsRequest,
  ProjectFilesRef,
  PurgeResult,
  ReadFileRequest,
  RenamePathRequest,
  Snapshot,
  SnapshotDiff,
  SnapshotInfo,
  SnapshotList,
  SnapshotRef,
  SweepRequest,
  SweepResult,
  WriteFilesRequest,
  WriteFilesResult,
  DiffVersionRequest,
  ForkResult,
  ForkVersionRequest,
  ImportGitRequest,
  ImportGitResult,
  PushVersionRequest,
  PushVersionResult,
  ListVersionsRequest,
  RecordVersionRequest,
  RestoreVersionResult,
  Version,
  VersionDetail,
  VersionDiff,
  VersionPage,
  VersionRef,
} from "./contract";
import { vfs } from "./encore-wiring";

/** The authenticated caller (every `auth: true` endpoint has one). */
const caller = (): AuthData => getAuthData()!;

/** Health of the vfs service and its MongoDB connection. */
export const health = api(
  { expose: true, auth: false, method: "GET", path: "/vfs/health" },
  async (): Promise<ServiceHealth> => call(() => vfs().health()),
);

/** Stores a batch of files as one revision, uploading only content not stored yet (one file up to 10 MiB fits alone: lib/batches.ts). */
export const writeFiles = api(
  { expose: true, auth: true, method: "POST", path: "/vfs/:projectId/files", bodyLimit: 16 * 1024 * 1024 },
  async (req: WriteFilesRequest): Promise<WriteFilesResult> => call(() => vfs().writeFiles(req, caller())),
);

/** One file's bytes (base64), current or at a revision. */
export const readFile = api(
  { expose: true, auth: true, method: "GET", path: "/vfs/:projectId/file" },
  async (req: ReadFileRequest): Promise<FileContent> => call(() => vfs().readFile(req, caller())),
);

/** The files under a directory, recursively or one level. */
export const listFiles = api(
  { expose: true, auth: true, method: "GET", path: "/vfs/:projectId/files" },
  async (req: ListFilesRequest): Promise<FileList> => call(() => vfs().listFiles(req, caller())),
);

/** Deletes files and directories (by path prefix, never by substring) as one revision. */
export const deleteFiles = api(
  { expose: true, auth: true, method: "DELETE", path: "/vfs/:projectId/files" },
  async (req: DeleteFilesRequest): Promise<ChangeResult> => call(() => vfs().deleteFiles(req, caller())),
);

/** Moves a file or a directory as one revision; the target must not exist. */
export const renamePath = api(
  { expose: true, auth: true, method: "POST", path: "/vfs/:projectId/rename" },
  async (req: RenamePathRequest): Promise<ChangeResult> => call(() => vfs().renamePath(req, caller())),
);

/** A path's changes, newest first. */
export const fileHistory = api(
  { expose: true, auth: true, method: "GET", path: "/vfs/:projectId/history" },
  async (req: FileHistoryRequest): Promise<FileHistory> => call(() => vfs().fileHistory(req, caller())),
);

/** Records the project's current manifest as a snapshot. */
export const createSnapshot = api(
  { expose: true, auth: true, method: "POST", path: "/vfs/:projectId/snapshots" },
  async (req: CreateSnapshotRequest): Promise<SnapshotInfo> => call(() => vfs().createSnapshot(req, caller())),
);

/** The project's snapshots, newest first. */
export const listSnapshots = api(
  { expose: true, auth: true, method: "GET", path: "/vfs/:projectId/snapshots" },
  async (req: ListSnapshotsRequest): Promise<SnapshotList> => call(() => vfs().listSnapshots(req, caller())),
);

/** A snapshot with its manifest. */
export const getSnapshot = api(
  { expose: true, auth: true, method: "GET", path: "/vfs/:projectId/snapshots/:snapshotId" },
  async (req: SnapshotRef): Promise<Snapshot> => call(() => vfs().getSnapshot(req, caller())),
);

/** The paths added, changed and removed between two snapshots. */
export const diffSnapshots = api(
  { expose: true, auth: true, method: "GET", path: "/vfs/:projectId/diff" },
  async (req: DiffSnapshotsRequest): Promise<SnapshotDiff> => call(() => vfs().diffSnapshots(req, caller())),
);

/** Leaves a generation's version: its final snapshot with its prompt, outcome and changes (called by the ai service as each job ends). */
export const recordVersion = api(
  { expose: false, auth: true, method: "POST", path: "/vfs/:projectId/versions" },
  async (req: RecordVersionRequest): Promise<Version> => call(() => vfs().recordVersion(req, caller())),
);

/** The project's versions, newest first, a page at a time. */
export const listVersions = api(
  { expose: true, auth: true, method: "GET", path: "/vfs/:projectId/versions" },
  async (req: ListVersionsRequest): Promise<VersionPage> => call(() => vfs().listVersions(req, caller())),
);

/** One version with its files. */
export const getVersion = api(
  { expose: true, auth: true, method: "GET", path: "/vfs/:projectId/versions/:versionId" },
  async (req: VersionRef): Promise<VersionDetail> => call(() => vfs().getVersion(req, caller())),
);

/** Per file, how a version differs from another (the one before it by default): unified diffs for text. */
export const diffVersion = api(
  { expose: true, auth: true, method: "GET", path: "/vfs/:projectId/versions/:versionId/diff" },
  async (req: DiffVersionRequest): Promise<VersionDiff> => call(() => vfs().diffVersion(req, caller())),
);

/** The thumbnail (base64 PNG) a version's generation took. */
export const versionThumbnail = api(
  { expose: true, auth: true, method: "GET", path: "/vfs/:projectId/versions/:versionId/thumbnail" },
  async (req: VersionRef): Promise<Thumbnail> => call(() => vfs().versionThumbnail(req, caller())),
);

/** Makes a version's files the project's again, as a new head revision and version; 409 while a generation runs. */
export const restoreVersion = api(
  { expose: true, auth: true, method: "POST", path: "/vfs/:projectId/versions/:versionId/restore" },
  async (req: VersionRef): Promise<RestoreVersionResult> => call(() => vfs().restoreVersion(req, caller())),
);

/** A new project of the caller's with a version's files, in a fresh workspace. */
export const forkVersion = api(
  { expose: true, auth: true, method: "POST", path: "/vfs/:projectId/versions/:versionId/fork" },
  async (req: ForkVersionRequest): Promise<ForkResult> => call(() => vfs().forkVersion(req, caller())),
);

/** A new project of the caller's from a git repository (https or http), cloned inside its sandbox. */
export const importGit = api(
  { expose: true, auth: true, method: "POST", path: "/vfs/git/import" },
  async (req: ImportGitRequest): Promise<ImportGitResult> => call(() => vfs().importGit(req, caller())),
);

/** Pushes a version as one commit to a git remote's branch; the token is for this push only. */
export const pushVersion = api(
  { expose: true, auth: true, method: "POST", path: "/vfs/:projectId/versions/:versionId/push" },
  async (req: PushVersionRequest): Promise<PushVersionResult> => call(() => vfs().pushVersion(req, caller())),
);

/** Makes a PNG the project's thumbnail (called by the ai service for the job's owner). */
export const saveThumbnail = api(
  { expose: false, auth: true, method: "POST", path: "/vfs/:projectId/thumbnail", bodyLimit: 16 * 1024 * 1024 },
  async (req: SaveThumbnailRequest): Promise<ThumbnailInfo> => call(() => vfs().saveThumbnail(req, caller())),
);

/** The project's thumbnail (base64 PNG): the screenshot of its app at its last passing check. */
export const thumbnail = api(
  { expose: true, auth: true, method: "GET", path: "/vfs/:projectId/thumbnail" },
  async (req: ProjectFilesRef): Promise<Thumbnail> => call(() => vfs().thumbnail(req, caller())),
);

/** Removes every file, revision, snapshot, blob and thumbnail of a project (called by the projects service). */
export const purgeProject = api(
  { expose: false, auth: false, method: "DELETE", path: "/vfs/:projectId" },
  async (req: ProjectFilesRef): Promise<PurgeResult> => call(() => vfs().purgeProject(req)),
);

/** Deletes blobs nothing references (a maintenance call; never part of a write). */
export const sweep = api(
  { expose: false, auth: false, method: "POST", path: "/vfs/sweep" },
  async (req: SweepRequest): Promise<SweepResult> => call(() => vfs().sweep(req)),
);

/** The scheduled sweep: every project's blobs unused for an hour (the cron job's endpoint takes no params). */
export const sweepAll = api(
  { expose: false, auth: false, method: "POST", path: "/vfs/sweep/all" },
  async (): Promise<SweepResult> => call(() => vfs().sweepAll({})),
);

/** Every hour: blobs no file, revision or snapshot references are deleted (cron jobs do not run under `encore run`). */
const _sweepBlobs = new CronJob("sweep-unused-blobs", { title: "Sweep unused blobs", every: "1h", endpoint: sweepAll });

/** Backs a workspace up incrementally and snapshots it (called by the ai service for the job's owner). */
export const backupWorkspace = api(
  { expose: false, auth: true, method: "POST", path: "/vfs/:projectId/backup" },
  async (req: BackupWorkspaceRequest): Promise<BackupResult> => call(() => vfs().backupWorkspace(req, caller())),
);

/** Writes a snapshot's files into a workspace in one batch (called by the ai service). */
export const restoreWorkspace = api(
  { expose: false, auth: true, method: "POST", path: "/vfs/:projectId/restore" },
  async (req: RestoreWorkspaceRequest): Promise<RestoreResult> => call(() => vfs().restoreWorkspace(req, caller())),
);
