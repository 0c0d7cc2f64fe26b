import type { Db } from "mongodb";
import { AppError, notFound } from "../lib/errors";
import { BlobStore, sha256Hex } from "./blobs";
import { ensureIndexes, openCollections, type FileDoc, type SnapshotDoc, type VfsCollections } from "./collections";
import type {
  ChangeLabel,
  ChangeResult,
  FileContent,
  ManifestEntry,
  FileList,
  PurgeResult,
  RevisionEntry,
  Snapshot,
  SnapshotDiff,
  SnapshotInfo,
  SweepResult,
  Thumbnail,
  ThumbnailInfo,
  WriteFilesResult,
} from "./contract";
import { Manifest, toFileInfo, type FileVersion } from "./manifest";
import { ancestors, isWithin } from "./paths";
import { RevisionLog, type Change } from "./revisions";
import { diffManifests, Snapshots, toSnapshotInfo, type SnapshotLabel } from "./snapshots";
import { sweepOrphans } from "./sweep";
import { Versions } from "./versions";

/** A file to store, already validated: a normalised path, its bytes and its mode. */
export interface NewFile {
  path: string;
  bytes: Buffer;
  mode: number;
}

function alreadyExists(path: string, existing: string): AppError {
  const problem = existing === path ? "already exists" : `conflicts with ${JSON.stringify(existing)} (a file cannot also be a directory)`;
  return new AppError("already_exists", `path ${JSON.stringify(path)} ${problem}`, { path, existing });
}

/**
 * The vfs storage on MongoDB, for trusted input (the service validates requests and ownership).
 * Writes store blobs first and only then point the manifest at them, so a failure part-way leaves
 * the previous version readable; the revision log is written last.
 */
export class VfsStore {
  private readonly blobs: BlobStore;
  private readonly manifest: Manifest;
  private readonly revisions: RevisionLog;
  private readonly snapshots: Snapshots;
  /** The project's versions (snapshots marked by generations, restores and forks). */
  readonly versions: Versions;

  constructor(private readonly c: VfsCollections) {
    this.blobs = new BlobStore(c);
    this.manifest = new Manifest(c);
    this.revisions = new RevisionLog(c);
    this.snapshots = new Snapshots(c);
    this.versions = new Versions(c, (projectId, entry) => this.readEntry(projectId, entry));
  }

  /** Opens the store on `db` and creates its indexes. */
  static async open(db: Db): Promise<VfsStore> {
    const collections = openCollections(db);
    await ensureIndexes(collections);
    return new VfsStore(collections);
  }

  /**
   * Stores a batch of files as one revision: hashes them, skips those already current, uploads only
   * content the project does not have yet, then updates the manifest in one batch and logs the changes.
   */
  async writeFiles(projectId: string, files: readonly NewFile[], label: ChangeLabel): Promise<WriteFilesResult> {
    const hashed = files.map((f) => ({ ...f, sha256: sha256Hex(f.bytes) }));
    await this.refuseConflicts(projectId, hashed.map((f) => f.path), false);
    const current = await this.manifest.entries(projectId, hashed.map((f) => f.path));
    const written = hashed.map((f) => {
      const entry = current.get(f.path);
      return { path: f.path, sha256: f.sha256, size: f.bytes.length, unchanged: entry?.sha256 === f.sha256 && entry.mode === f.mode };
    });
    const changed = hashed.filter((_, i) => !written[i]!.unchanged);
    if (changed.length === 0) return { revision: null, files: written, uploadedBlobs: 0 };

    const uploadedBlobs = await this.blobs.ensure(projectId, changed);
    const revision = await this.revisions.next(projectId);
    const versions: FileVersion[] = changed.map((f) => ({ path: f.path, sha256: f.sha256, size: f.bytes.length, mode: f.mode }));
    await this.manifest.put(projectId, revision, versions);
    await this.revisions.record(projectId, revision, label, versions.map((v) => ({ action: "write", previousPath: null, ...v })));
    return { revision, files: written, uploadedBlobs };
  }

  /** A file's bytes and entry: the current version, or the one it had at `revision`. */
  async readFile(projectId: string, path: string, revision?: number): Promise<FileContent> {
    const entry = revision === undefined ? await this.manifest.entry(projectId, path) : await this.versionAt(projectId, path, revision);
    if (!entry) throw notFound("file", path);
    const bytes = await this.readEntry(projectId, entry);
    return { ...toFileInfo(entry), contentBase64: bytes.toString("base64") };
  }

  /** The bytes of a file version, checked against its hash: a missing or corrupted blob is `data_loss` naming the path. */
  async readEntry(projectId: string, entry: Pick<ManifestEntry, "path" | "sha256">): Promise<Buffer> {
    try {
      return await this.blobs.read(projectId, entry.sha256);
    } catch (err) {
      if (err instanceof AppError && err.code === "data_loss") throw new AppError("data_loss", `${JSON.stringify(entry.path)}: ${err.message}`, { path: entry.path });
      throw err;
    }
  }

  /**
   * Makes `files` (with their bytes, already read and checked) the project's whole current manifest as
   * one new revision: paths it lacks are deleted, the others written. Returns the revision, or null when
   * nothing differed. The blobs are marked used first, so a sweep running alongside spares them.
   */
  async replaceFiles(projectId: string, files: readonly (ManifestEntry & { bytes: Buffer })[], label: ChangeLabel): Promise<number | null> {
    const current = new Map((await this.manifest.under(projectId, "")).map((f) => [f.path, f]));
    const wanted = new Set(files.map((f) => f.path));
    const removed = [...current.keys()].filter((path) => !wanted.has(path));
    const changed = files.filter((f) => current.get(f.path)?.sha256 !== f.sha256 || current.get(f.path)?.mode !== f.mode);
    if (removed.length === 0 && changed.length === 0) return null;
    await this.blobs.ensure(projectId, changed);
    const revision = await this.revisions.next(projectId);
    const versions: FileVersion[] = changed.map((f) => ({ path: f.path, sha256: f.sha256, size: f.size, mode: f.mode }));
    await this.manifest.put(projectId, revision, versions);
    await this.manifest.remove(projectId, removed);
    await this.revisions.record(projectId, revision, label, [
      ...versions.map((v): Change => ({ action: "write", previousPath: null, ...v })),
      ...removed.map((path): Change => ({ action: "delete", path, previousPath: null, sha256: null, size: null, mode: null })),
    ]);
    return revision;
  }

  /** The files under `directory`: all of them, or its direct children and subdirectory names. */
  async listFiles(projectId: string, directory: string, recursive: boolean): Promise<FileList> {
    const all = await this.manifest.under(projectId, directory);
    if (recursive) return { files: all.map(toFileInfo), directories: [] };
    const depth = directory === "" ? 0 : directory.split("/").length;
    const files = all.filter((f) => f.path.split("/").length === depth + 1);
    const directories = new Set(all.filter((f) => f.path.split("/").length > depth + 1).map((f) => f.path.split("/").slice(0, depth + 1).join("/")));
    return { files: files.map(toFileInfo), directories: [...directories].sort() };
  }

  /** Deletes files and directories (each path: the file itself or every file under `path/`) as one revision. */
  async deleteFiles(projectId: string, paths: readonly string[], label: ChangeLabel): Promise<ChangeResult> {
    const deleted = (await this.manifest.matching(projectId, paths)).map((f) => f.path);
    if (deleted.length === 0) return { revision: null, paths: [] };
    const revision = await this.revisions.next(projectId);
    await this.manifest.remove(projectId, deleted);
    await this.revisions.record(
      projectId,
      revision,
      label,
      deleted.map((path) => ({ action: "delete", path, previousPath: null, sha256: null, size: null, mode: null })),
    );
    return { revision, paths: deleted };
  }

  /** Moves a file, or a directory with everything under it, as one revision; the target must be free. */
  async renamePath(projectId: string, from: string, to: string, label: ChangeLabel): Promise<ChangeResult> {
    if (isWithin(to, from) || isWithin(from, to)) {
      throw new AppError("invalid_argument", `to: cannot move ${JSON.stringify(from)} to ${JSON.stringify(to)}: one contains the other`, { field: "to" });
    }
    const exact = await this.manifest.entry(projectId, from);
    const sources = exact ? [exact] : await this.manifest.under(projectId, from);
    if (sources.length === 0) throw notFound("path", from);
    const target = (path: string) => (exact ? to : `${to}${path.slice(from.length)}`);
    const moves = new Map(sources.map((s) => [s.path, target(s.path)]));
    // A directory moves to a free name: never merged into an existing directory.
    if (!exact) await this.refuseConflicts(projectId, [to], true);
    await this.refuseConflicts(projectId, [...moves.values()], true);
    const revision = await this.revisions.next(projectId);
    await this.manifest.move(projectId, revision, moves);
    const changes: Change[] = sources.map((s) => ({ action: "rename", path: moves.get(s.path)!, previousPath: s.path, sha256: s.sha256, size: s.size, mode: s.mode }));
    await this.revisions.record(projectId, revision, label, changes);
    return { revision, paths: [...moves.values()].sort() };
  }

  /** A path's recorded changes, newest first. */
  fileHistory(projectId: string, path: string, limit: number): Promise<RevisionEntry[]> {
    return this.revisions.history(projectId, path, limit);
  }

  /** Records the project's current files as a snapshot of its latest revision. */
  async createSnapshot(projectId: string, label: SnapshotLabel): Promise<SnapshotInfo> {
    return toSnapshotInfo(await this.snapshotNow(projectId, label));
  }

  /** Records the project's current files as a snapshot, returning its document. */
  async snapshotNow(projectId: string, label: SnapshotLabel): Promise<SnapshotDoc> {
    const revision = await this.revisions.current(projectId);
    return this.snapshots.create(projectId, revision, label, await this.manifest.under(projectId, ""));
  }

  /** A snapshot of the project with its manifest (any snapshot, version or not), or `not_found`. */
  snapshotDoc(projectId: string, snapshotId: string): Promise<SnapshotDoc> {
    return this.snapshots.get(projectId, snapshotId);
  }

  /** The last snapshot a job's final backup left (labelled `job <id>`), or null. */
  jobSnapshot(projectId: string, jobId: string): Promise<SnapshotDoc | null> {
    return this.c.snapshots.findOne({ projectId, jobId, label: `job ${jobId}` }, { sort: { createdAt: -1, _id: -1 } });
  }

  /** The sha256 of the thumbnail a job took, when it is still the project's thumbnail. */
  async jobThumbnail(projectId: string, jobId: string): Promise<string | null> {
    return (await this.c.thumbnails.findOne({ _id: projectId, jobId }))?.sha256 ?? null;
  }

  /** The project's snapshots, newest first. */
  listSnapshots(projectId: string, limit: number): Promise<SnapshotInfo[]> {
    return this.snapshots.list(projectId, limit);
  }

  /** A snapshot with its manifest. */
  async getSnapshot(projectId: string, snapshotId: string): Promise<Snapshot> {
    const doc = await this.snapshots.get(projectId, snapshotId);
    return { snapshot: toSnapshotInfo(doc), files: doc.files };
  }

  /** The paths added, changed and removed from one snapshot to another. */
  async diffSnapshots(projectId: string, fromId: string, toId: string): Promise<SnapshotDiff> {
    const [from, to] = await Promise.all([this.snapshots.get(projectId, fromId), this.snapshots.get(projectId, toId)]);
    return diffManifests(from.files, to.files);
  }

  /** Makes `png` the project's thumbnail: stored as a blob first, then pointed at. */
  async saveThumbnail(projectId: string, png: Buffer, jobId: string | null): Promise<ThumbnailInfo> {
    const sha256 = sha256Hex(png);
    await this.blobs.ensure(projectId, [{ sha256, bytes: png }]);
    const updatedAt = new Date();
    await this.c.thumbnails.updateOne({ _id: projectId }, { $set: { sha256, size: png.length, jobId, updatedAt } }, { upsert: true });
    return { sha256, size: png.length, updatedAt: updatedAt.toISOString() };
  }

  /** The project's thumbnail with its PNG, or `not_found`. */
  async thumbnail(projectId: string): Promise<Thumbnail> {
    const doc = await this.c.thumbnails.findOne({ _id: projectId });
    if (!doc) throw new AppError("not_found", `project ${JSON.stringify(projectId)} has no thumbnail yet: one is taken when its app passes its checks`);
    const png = await this.blobs.read(projectId, doc.sha256);
    return { sha256: doc.sha256, size: doc.size, updatedAt: doc.updatedAt.toISOString(), pngBase64: png.toString("base64") };
  }

  /** Removes everything the vfs keeps for a project. */
  async purgeProject(projectId: string): Promise<PurgeResult> {
    const [files, revisions, snapshots] = await Promise.all([
      this.c.files.deleteMany({ projectId }),
      this.c.revisions.deleteMany({ projectId }),
      this.c.snapshots.deleteMany({ projectId }),
      this.c.counters.deleteOne({ _id: projectId }),
      this.c.thumbnails.deleteOne({ _id: projectId }),
    ]);
    const blobs = await this.blobs.deleteProject(projectId);
    return { files: files.deletedCount, revisions: revisions.deletedCount, snapshots: snapshots.deletedCount, blobs };
  }

  /** Deletes blobs nothing references and nobody used since `usedBefore`. */
  sweep(projectId: string | undefined, usedBefore: Date): Promise<SweepResult> {
    return sweepOrphans(this.c, this.blobs, { projectId, usedBefore });
  }

  /** The version `path` had at `revision`; a revision the project has not reached yet is `not_found`. */
  private async versionAt(projectId: string, path: string, revision: number): Promise<FileDoc | null> {
    const latest = await this.revisions.current(projectId);
    if (revision > latest) throw new AppError("not_found", `revision ${revision} not found: the project's latest revision is ${latest}`, { revision, latest });
    const state = await this.revisions.stateAt(projectId, path, revision);
    if (!state) return null;
    return { projectId, path, sha256: state.sha256!, size: state.size!, mode: state.mode!, revision: state.revision, updatedAt: state.at };
  }

  /**
   * Refuses new paths that would make a file and a directory share a name (within the batch or with a
   * stored file) and, with `exact`, paths where a file is already stored.
   */
  private async refuseConflicts(projectId: string, paths: readonly string[], exact: boolean): Promise<void> {
    const batch = new Set(paths);
    for (const path of paths) {
      const inBatch = ancestors(path).find((dir) => batch.has(dir));
      if (inBatch) throw alreadyExists(path, inBatch);
    }
    const clash = await this.manifest.firstConflict(projectId, paths, exact);
    if (clash) throw alreadyExists(clash.path, clash.existing);
  }
}
