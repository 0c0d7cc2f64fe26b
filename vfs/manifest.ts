import type { AnyBulkWriteOperation } from "mongodb";
import type { FileDoc, VfsCollections } from "./collections";
import type { FileInfo } from "./contract";
import { ancestors, isWithin, underDirectory } from "./paths";

/** A file's new content, as the manifest records it. */
export type FileVersion = Pick<FileDoc, "path" | "sha256" | "size" | "mode">;

/** The current files of each project (collection `files`): one entry per (project, path). */
export class Manifest {
  constructor(private readonly c: VfsCollections) {}

  /** The current entries of the given paths (absent paths are simply missing). */
  async entries(projectId: string, paths: readonly string[]): Promise<Map<string, FileDoc>> {
    const docs = await this.c.files.find({ projectId, path: { $in: [...paths] } }).toArray();
    return new Map(docs.map((d) => [d.path, d]));
  }

  /** The current entry of one path, or null. */
  entry(projectId: string, path: string): Promise<FileDoc | null> {
    return this.c.files.findOne({ projectId, path });
  }

  /** Every file under `directory` ("" is the whole project), sorted by path. */
  under(projectId: string, directory: string): Promise<FileDoc[]> {
    return this.c.files.find({ projectId, path: underDirectory(directory) }).sort({ path: 1 }).toArray();
  }

  /** Every file that is one of `paths` or lies under one of them as a directory, sorted by path. */
  matching(projectId: string, paths: readonly string[]): Promise<FileDoc[]> {
    const clauses = paths.flatMap((p) => [{ path: p }, { path: underDirectory(p) }]);
    return this.c.files.find({ projectId, $or: clauses }).sort({ path: 1 }).toArray();
  }

  /**
   * A stored file that keeps one of `paths` from being created as a file: one at an ancestor directory
   * of it, one under it (it is a directory), or, with `exact`, one at the path itself. Null when free.
   */
  async firstConflict(projectId: string, paths: readonly string[], exact: boolean): Promise<{ path: string; existing: string } | null> {
    const ancestorDirs = [...new Set(paths.flatMap(ancestors))];
    const clauses = [{ path: { $in: ancestorDirs } }, ...paths.map((p) => ({ path: underDirectory(p) })), ...(exact ? [{ path: { $in: [...paths] } }] : [])];
    const existing = await this.c.files.findOne({ projectId, $or: clauses }, { projection: { path: 1 } });
    if (!existing) return null;
    const blocked = paths.find((p) => p === existing.path || isWithin(existing.path, p) || isWithin(p, existing.path))!;
    return { path: blocked, existing: existing.path };
  }

  /** Points each path at its new content, in one batch (upserts: a new path gets a new entry). */
  async put(projectId: string, revision: number, versions: readonly FileVersion[]): Promise<void> {
    if (versions.length === 0) return;
    const updatedAt = new Date();
    const operations: AnyBulkWriteOperation<FileDoc>[] = versions.map((v) => ({
      updateOne: {
        filter: { projectId, path: v.path },
        update: { $set: { sha256: v.sha256, size: v.size, mode: v.mode, revision, updatedAt } },
        upsert: true,
      },
    }));
    await this.c.files.bulkWrite(operations, { ordered: true });
  }

  /** Moves entries to new paths (`moves`: old path → new path), in one batch. */
  async move(projectId: string, revision: number, moves: ReadonlyMap<string, string>): Promise<void> {
    if (moves.size === 0) return;
    const updatedAt = new Date();
    const operations: AnyBulkWriteOperation<FileDoc>[] = [...moves].map(([from, to]) => ({
      updateOne: { filter: { projectId, path: from }, update: { $set: { path: to, revision, updatedAt } } },
    }));
    await this.c.files.bulkWrite(operations, { ordered: true });
  }

  /** Removes the entries of the given paths. */
  async remove(projectId: string, paths: readonly string[]): Promise<void> {
    if (paths.length === 0) return;
    await this.c.files.deleteMany({ projectId, path: { $in: [...paths] } });
  }
}

/** A manifest entry as the API shows it. */
export function toFileInfo(doc: FileDoc): FileInfo {
  return { path: doc.path, sha256: doc.sha256, size: doc.size, mode: doc.mode, revision: doc.revision, updatedAt: doc.updatedAt.toISOString() };
}
