import { decodeCursor, encodeCursor } from "../lib/cursor";
import { notFound } from "../lib/errors";
import type { SnapshotDoc, VersionFacts, VfsCollections } from "./collections";
import type { FileDiff, ManifestEntry, Version, VersionDiff, VersionPage } from "./contract";
import { diffManifests } from "./snapshots";
import { diffFile } from "./text-diff";

/** Reads the bytes of a project's manifest entry (checked against its hash; `data_loss` naming the path otherwise). */
export type EntryReader = (projectId: string, entry: ManifestEntry) => Promise<Buffer>;

/** A version document: a snapshot with its version facts. */
type VersionDoc = SnapshotDoc & { version: VersionFacts };

/** A version as the API shows it. */
export function toVersion(doc: Omit<VersionDoc, "files">): Version {
  const v = doc.version;
  return {
    id: doc._id,
    revision: doc.revision,
    kind: v.kind,
    status: v.status,
    jobId: doc.jobId,
    prompt: v.prompt,
    summary: v.summary,
    source: v.source,
    fileCount: doc.fileCount,
    totalBytes: doc.totalBytes,
    changes: v.changes,
    thumbnailSha256: v.thumbnailSha256,
    createdAt: doc.createdAt.toISOString(),
  };
}

/** Versions: snapshots marked with how they came to be and what they changed (in the `snapshots` collection). */
export class Versions {
  constructor(
    private readonly c: VfsCollections,
    private readonly read: EntryReader,
  ) {}

  /** Makes a snapshot a version, its changes (with line counts) computed against the version before it. */
  async mark(doc: SnapshotDoc, facts: Omit<VersionFacts, "changes">): Promise<Version> {
    const previous = await this.before(doc);
    const changes = (await this.diffFiles(doc.projectId, previous?.files ?? [], doc.files)).map(({ path, change, linesAdded, linesRemoved }) => ({
      path,
      change,
      linesAdded,
      linesRemoved,
    }));
    const version: VersionFacts = { ...facts, changes };
    await this.c.snapshots.updateOne({ _id: doc._id }, { $set: { version } });
    return toVersion({ ...doc, version });
  }

  /** The project's versions, newest first, `limit` at a time after `cursor`. */
  async list(projectId: string, limit: number, cursor: unknown): Promise<VersionPage> {
    const after = decodeCursor(cursor);
    const position = after
      ? { $or: [{ createdAt: { $lt: new Date(after[0]) } }, { createdAt: new Date(after[0]), _id: { $lt: after[1] } }] }
      : {};
    const docs = (await this.c.snapshots
      .find({ projectId, version: { $exists: true }, ...position }, { projection: { files: 0 } })
      .sort({ createdAt: -1, _id: -1 })
      .limit(limit + 1)
      .toArray()) as Omit<VersionDoc, "files">[];
    const page = docs.slice(0, limit);
    const last = page[page.length - 1];
    return { versions: page.map(toVersion), nextCursor: docs.length > limit && last ? encodeCursor(last.createdAt, last._id) : null };
  }

  /** One version of the project with its files; `not_found` for an unknown id, another project's, or a snapshot that is no version. */
  async get(projectId: string, versionId: string): Promise<VersionDoc> {
    const doc = await this.c.snapshots.findOne({ _id: versionId, projectId, version: { $exists: true } });
    if (!doc) throw notFound("version", versionId);
    return doc as VersionDoc;
  }

  /** Per file, how version `toId` differs from `fromId` (by default the version before it). */
  async diff(projectId: string, toId: string, fromId?: string): Promise<VersionDiff> {
    const to = await this.get(projectId, toId);
    const from = fromId === undefined ? await this.before(to) : await this.get(projectId, fromId);
    return { from: from?._id ?? null, to: to._id, files: await this.diffFiles(projectId, from?.files ?? [], to.files) };
  }

  /** The version made before `doc`, or null for the first. */
  private async before(doc: SnapshotDoc): Promise<VersionDoc | null> {
    const earlier = await this.c.snapshots.findOne(
      { projectId: doc.projectId, version: { $exists: true }, $or: [{ createdAt: { $lt: doc.createdAt } }, { createdAt: doc.createdAt, _id: { $lt: doc._id } }] },
      { sort: { createdAt: -1, _id: -1 } },
    );
    return earlier as VersionDoc | null;
  }

  private async diffFiles(projectId: string, from: readonly ManifestEntry[], to: readonly ManifestEntry[]): Promise<FileDiff[]> {
    const { added, changed, removed } = diffManifests(from, to);
    const before = new Map(from.map((f) => [f.path, f]));
    const after = new Map(to.map((f) => [f.path, f]));
    const bytes = (entry: ManifestEntry | undefined) => (entry ? this.read(projectId, entry) : Promise.resolve(null));
    const paths = [...added, ...changed, ...removed].sort();
    return Promise.all(paths.map(async (path) => diffFile(path, await bytes(before.get(path)), await bytes(after.get(path)))));
  }
}
