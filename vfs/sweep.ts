import type { BlobStore } from "./blobs";
import type { VfsCollections } from "./collections";
import type { SweepResult } from "./contract";

/** Which blobs a sweep considers: one project's or all, unused since `usedBefore`. */
export interface SweepScope {
  projectId?: string;
  usedBefore: Date;
}

/** Every sha256 a project still needs: its current files, its revision log, its snapshots, its thumbnail and its versions' thumbnails. */
async function referencedHashes(c: VfsCollections, projectId: string): Promise<Set<string>> {
  const [current, logged, snapshotted, thumbnail, versionThumbnails] = await Promise.all([
    c.files.distinct("sha256", { projectId }),
    c.revisions.distinct("sha256", { projectId }),
    c.snapshots.distinct("files.sha256", { projectId }),
    c.thumbnails.distinct("sha256", { _id: projectId }),
    c.snapshots.distinct("version.thumbnailSha256", { projectId }),
  ]);
  return new Set([...current, ...logged, ...snapshotted, ...thumbnail, ...versionThumbnails].filter((sha): sha is string => typeof sha === "string"));
}

/**
 * Deletes the blobs nothing references. Candidates are chosen before references are read, and each is
 * deleted only if still unused since `usedBefore`: a write that reuses a blob marks it used before it
 * points a file at it, so a write running alongside never loses its content.
 */
export async function sweepOrphans(c: VfsCollections, blobs: BlobStore, scope: SweepScope): Promise<SweepResult> {
  const candidates = await c.blobFiles
    .find(
      { ...(scope.projectId === undefined ? {} : { "metadata.projectId": scope.projectId }), "metadata.usedAt": { $lt: scope.usedBefore } },
      { projection: { _id: 1, length: 1, metadata: 1 } },
    )
    .toArray();
  const result: SweepResult = { deletedBlobs: 0, deletedBytes: 0 };
  for (const projectId of new Set(candidates.map((b) => b.metadata.projectId))) {
    const referenced = await referencedHashes(c, projectId);
    for (const blob of candidates) {
      if (blob.metadata.projectId !== projectId || referenced.has(blob.metadata.sha256)) continue;
      if (await blobs.deleteIfUnused(blob._id, scope.usedBefore)) {
        result.deletedBlobs += 1;
        result.deletedBytes += blob.length;
      }
    }
  }
  return result;
}
