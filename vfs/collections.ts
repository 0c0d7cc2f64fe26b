import { GridFSBucket, type Collection, type Db, type GridFSFile, type ObjectId } from "mongodb";
import type { FileChange, FileInfo, ManifestEntry, RevisionEntry, VersionKind, VersionStatus } from "./contract";

/** GridFS bucket of the blobs: one GridFS file per (project, sha256), in `blobs.files` / `blobs.chunks`. */
export const BLOB_BUCKET = "blobs";

/** What a blob's GridFS file carries in `metadata`. */
export interface BlobMetadata {
  projectId: string;
  sha256: string;
  size: number;
  /** When a write last stored or reused this blob; the sweep spares blobs used recently. */
  usedAt: Date;
}

/** A blob's GridFS file document. */
export type BlobFileDoc = GridFSFile & { metadata: BlobMetadata };

/** The current version of one path of a project (collection `files`): a FileInfo with its project. */
export type FileDoc = Omit<FileInfo, "updatedAt"> & { projectId: string; updatedAt: Date };

/** One recorded change (collection `revisions`): a RevisionEntry with its project and mode; a batch shares one revision. */
export type RevisionDoc = Omit<RevisionEntry, "at"> & { projectId: string; mode: number | null; at: Date };

/** A project's manifest at a moment (collection `snapshots`). */
export interface SnapshotDoc {
  _id: string;
  projectId: string;
  revision: number;
  label: string | null;
  jobId: string | null;
  turn: number | null;
  files: ManifestEntry[];
  fileCount: number;
  totalBytes: number;
  createdAt: Date;
  /** Set when the snapshot is a version (what the user sees in History). */
  version?: VersionFacts;
}

/** What makes a snapshot a version: how it came to be, and what it changed against the version before it. */
export interface VersionFacts {
  kind: VersionKind;
  status: VersionStatus;
  prompt: string | null;
  summary: string | null;
  source: { projectId: string; versionId: string } | null;
  changes: FileChange[];
  thumbnailSha256: string | null;
}

/** A project's thumbnail (collection `thumbnails`, `_id` is the project id): its PNG is a blob. */
export interface ThumbnailDoc {
  _id: string;
  sha256: string;
  size: number;
  jobId: string | null;
  updatedAt: Date;
}

/** A project's last revision number (collection `counters`, `_id` is the project id). */
export interface CounterDoc {
  _id: string;
  revision: number;
}

/** Every collection of the vfs, typed. */
export interface VfsCollections {
  bucket: GridFSBucket;
  blobFiles: Collection<BlobFileDoc>;
  blobChunks: Collection<{ files_id: ObjectId; n: number }>;
  files: Collection<FileDoc>;
  revisions: Collection<RevisionDoc>;
  snapshots: Collection<SnapshotDoc>;
  counters: Collection<CounterDoc>;
  thumbnails: Collection<ThumbnailDoc>;
}

/** The vfs collections of `db`. */
export function openCollections(db: Db): VfsCollections {
  return {
    bucket: new GridFSBucket(db, { bucketName: BLOB_BUCKET }),
    blobFiles: db.collection<BlobFileDoc>(`${BLOB_BUCKET}.files`),
    blobChunks: db.collection(`${BLOB_BUCKET}.chunks`),
    files: db.collection<FileDoc>("files"),
    revisions: db.collection<RevisionDoc>("revisions"),
    snapshots: db.collection<SnapshotDoc>("snapshots"),
    counters: db.collection<CounterDoc>("counters"),
    thumbnails: db.collection<ThumbnailDoc>("thumbnails"),
  };
}

/**
 * Creates the indexes every lookup of the vfs relies on (idempotent, run at start). The unique ones
 * are invariants: one blob per (project, sha256), one current entry per (project, path).
 */
export async function ensureIndexes(c: VfsCollections): Promise<void> {
  await Promise.all([
    c.blobFiles.createIndex({ "metadata.projectId": 1, "metadata.sha256": 1 }, { unique: true, name: "project_sha256" }),
    c.blobFiles.createIndex({ "metadata.usedAt": 1 }, { name: "used_at" }),
    // GridFS's own indexes, created here so the first upload does not race to create them.
    c.blobFiles.createIndex({ filename: 1, uploadDate: 1 }, { name: "filename_1_uploadDate_1" }),
    c.blobChunks.createIndex({ files_id: 1, n: 1 }, { unique: true, name: "files_id_1_n_1" }),
    c.files.createIndex({ projectId: 1, path: 1 }, { unique: true, name: "project_path" }),
    c.revisions.createIndex({ projectId: 1, path: 1, revision: -1 }, { name: "project_path_revision" }),
    c.revisions.createIndex({ projectId: 1, previousPath: 1, revision: -1 }, { name: "project_previous_path_revision" }),
    c.snapshots.createIndex({ projectId: 1, createdAt: -1 }, { name: "project_created" }),
  ]);
}
