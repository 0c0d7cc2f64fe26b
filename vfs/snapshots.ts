import { notFound } from "../lib/errors";
import { newId } from "../lib/ids";
import type { FileDoc, SnapshotDoc, VfsCollections } from "./collections";
import type { ChangeLabel, ManifestEntry, SnapshotDiff, SnapshotInfo } from "./contract";

/** What a new snapshot records besides its manifest. */
export interface SnapshotLabel extends ChangeLabel {
  label?: string;
}

/** Snapshots of project manifests (collection `snapshots`): path → sha256 at a moment, labelled. */
export class Snapshots {
  constructor(private readonly c: VfsCollections) {}

  /** Records `files` (a project's current entries) as a snapshot of `revision`. */
  async create(projectId: string, revision: number, label: SnapshotLabel, files: readonly FileDoc[]): Promise<SnapshotDoc> {
    const manifest: ManifestEntry[] = files.map((f) => ({ path: f.path, sha256: f.sha256, size: f.size, mode: f.mode }));
    const doc: SnapshotDoc = {
      _id: newId("snp"),
      projectId,
      revision,
      label: label.label ?? null,
      jobId: label.jobId ?? null,
      turn: label.turn ?? null,
      files: manifest,
      fileCount: manifest.length,
      totalBytes: manifest.reduce((sum, f) => sum + f.size, 0),
      createdAt: new Date(),
    };
    await this.c.snapshots.insertOne(doc);
    return doc;
  }

  /** A project's snapshots without their manifests, newest first. */
  async list(projectId: string, limit: number): Promise<SnapshotInfo[]> {
    const docs = await this.c.snapshots
      .find({ projectId }, { projection: { files: 0 } })
      .sort({ createdAt: -1, _id: -1 })
      .limit(limit)
      .toArray();
    return docs.map(toSnapshotInfo);
  }

  /** One snapshot of the project with its manifest; `not_found` for an unknown id or another project's. */
  async get(projectId: string, snapshotId: string): Promise<SnapshotDoc> {
    const doc = await this.c.snapshots.findOne({ _id: snapshotId, projectId });
    if (!doc) throw notFound("snapshot", snapshotId);
    return doc;
  }
}

/** A snapshot document as the API lists it. */
export function toSnapshotInfo(doc: Omit<SnapshotDoc, "files">): SnapshotInfo {
  return {
    id: doc._id,
    revision: doc.revision,
    label: doc.label,
    jobId: doc.jobId,
    turn: doc.turn,
    fileCount: doc.fileCount,
    totalBytes: doc.totalBytes,
    createdAt: doc.createdAt.toISOString(),
  };
}

/** The paths added, changed (content or mode) and removed from manifest `from` to manifest `to`. */
export function diffManifests(from: readonly ManifestEntry[], to: readonly ManifestEntry[]): SnapshotDiff {
  const before = new Map(from.map((f) => [f.path, f]));
  const after = new Map(to.map((f) => [f.path, f]));
  const added = [...after.keys()].filter((path) => !before.has(path));
  const removed = [...before.keys()].filter((path) => !after.has(path));
  const changed = [...after.values()]
    .filter((f) => {
      const old = before.get(f.path);
      return old !== undefined && (old.sha256 !== f.sha256 || old.mode !== f.mode);
    })
    .map((f) => f.path);
  return { added: added.sort(), changed: changed.sort(), removed: removed.sort() };
}
