import type { VfsCollections, RevisionDoc } from "./collections";
import type { ChangeLabel, RevisionEntry } from "./contract";

/** A change about to be recorded: what a RevisionDoc holds besides project, revision, label and time. */
export type Change = Pick<RevisionDoc, "action" | "path" | "previousPath" | "sha256" | "size" | "mode">;

/** The revision log of the vfs: a per-project counter and one entry per changed path. */
export class RevisionLog {
  constructor(private readonly c: VfsCollections) {}

  /** The next revision number of a project (atomic: `$inc` on its counter, created on first use). */
  async next(projectId: string): Promise<number> {
    const counter = await this.c.counters.findOneAndUpdate(
      { _id: projectId },
      { $inc: { revision: 1 } },
      { upsert: true, returnDocument: "after" },
    );
    return counter!.revision;
  }

  /** The project's latest revision number (0 before any change). */
  async current(projectId: string): Promise<number> {
    return (await this.c.counters.findOne({ _id: projectId }))?.revision ?? 0;
  }

  /** Records the changes of one revision. */
  async record(projectId: string, revision: number, label: ChangeLabel, changes: readonly Change[]): Promise<void> {
    if (changes.length === 0) return;
    const at = new Date();
    await this.c.revisions.insertMany(
      changes.map((change) => ({ projectId, revision, ...change, jobId: label.jobId ?? null, turn: label.turn ?? null, at })),
    );
  }

  /** The changes that touched `path` (renames away from it included), newest first. */
  async history(projectId: string, path: string, limit: number): Promise<RevisionEntry[]> {
    const docs = await this.c.revisions
      .find({ projectId, $or: [{ path }, { previousPath: path }] })
      .sort({ revision: -1 })
      .limit(limit)
      .toArray();
    return docs.map(toEntry);
  }

  /**
   * The last change of `path` at or before `revision`: the content it had then, or null when it did
   * not exist (never written, deleted, or renamed away).
   */
  async stateAt(projectId: string, path: string, revision: number): Promise<RevisionDoc | null> {
    const last = await this.c.revisions.findOne(
      { projectId, revision: { $lte: revision }, $or: [{ path }, { previousPath: path }] },
      { sort: { revision: -1 } },
    );
    if (!last || last.path !== path || last.action === "delete") return null;
    return last;
  }
}

function toEntry(doc: RevisionDoc): RevisionEntry {
  return {
    revision: doc.revision,
    action: doc.action,
    path: doc.path,
    previousPath: doc.previousPath,
    sha256: doc.sha256,
    size: doc.size,
    jobId: doc.jobId,
    turn: doc.turn,
    at: doc.at.toISOString(),
  };
}
