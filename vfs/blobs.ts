import { createHash } from "node:crypto";
import { MongoServerError, type ObjectId } from "mongodb";
import { AppError } from "../lib/errors";
import type { BlobMetadata, VfsCollections } from "./collections";

/** How many blobs one write uploads at the same time. */
export const UPLOAD_CONCURRENCY = 4;

const DUPLICATE_KEY = 11000;

/** The sha256 of some bytes, as lowercase hex. */
export function sha256Hex(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Content to store under its hash. */
export interface Blob {
  sha256: string;
  bytes: Buffer;
}

/** Runs `task` over `items`, at most `limit` at a time; rejects with the first failure. */
export async function forEachLimited<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await task(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** The content-addressed blob store of the vfs, on GridFS. */
export class BlobStore {
  constructor(private readonly c: VfsCollections) {}

  /**
   * Makes sure every blob is stored for the project: one query finds those already stored (marked as
   * used just now, so a sweep running alongside spares them), then only the missing ones are uploaded,
   * a few at a time. Returns how many were uploaded.
   */
  async ensure(projectId: string, blobs: readonly Blob[]): Promise<number> {
    const unique = [...new Map(blobs.map((b) => [b.sha256, b])).values()];
    if (unique.length === 0) return 0;
    const stored = await this.c.blobFiles
      .find({ "metadata.projectId": projectId, "metadata.sha256": { $in: unique.map((b) => b.sha256) } }, { projection: { _id: 1, "metadata.sha256": 1 } })
      .toArray();
    const have = new Set(stored.map((s) => s.metadata.sha256));
    let missing = unique.filter((b) => !have.has(b.sha256));
    if (stored.length > 0) {
      const touched = await this.c.blobFiles.updateMany({ _id: { $in: stored.map((s) => s._id) } }, { $set: { "metadata.usedAt": new Date() } });
      // A sweep removed one between the lookup and the touch: upload everything again to be sure.
      if (touched.matchedCount < stored.length) missing = unique;
    }
    await forEachLimited(missing, UPLOAD_CONCURRENCY, (blob) => this.upload(projectId, blob));
    return missing.length;
  }

  /** The bytes of a blob, checked against its hash. */
  async read(projectId: string, sha256: string): Promise<Buffer> {
    const file = await this.c.blobFiles.findOne({ "metadata.projectId": projectId, "metadata.sha256": sha256 }, { projection: { _id: 1 } });
    if (!file) throw new AppError("data_loss", `the content ${sha256} of project ${projectId} is missing from the blob store`);
    const chunks: Buffer[] = [];
    for await (const chunk of this.c.bucket.openDownloadStream(file._id)) chunks.push(chunk as Buffer);
    const bytes = Buffer.concat(chunks);
    if (sha256Hex(bytes) !== sha256) throw new AppError("data_loss", `the content ${sha256} of project ${projectId} is corrupted in the blob store`);
    return bytes;
  }

  /**
   * Deletes a blob unless it was used since `usedBefore` (a write reusing it wins over the sweep):
   * the GridFS file document first, then its chunks. Returns whether it was deleted.
   */
  async deleteIfUnused(id: ObjectId, usedBefore: Date): Promise<boolean> {
    const removed = await this.c.blobFiles.deleteOne({ _id: id, "metadata.usedAt": { $lt: usedBefore } });
    if (removed.deletedCount === 0) return false;
    await this.c.blobChunks.deleteMany({ files_id: id });
    return true;
  }

  /** Deletes every blob of a project; returns how many there were. */
  async deleteProject(projectId: string): Promise<number> {
    const files = await this.c.blobFiles.find({ "metadata.projectId": projectId }, { projection: { _id: 1 } }).toArray();
    const ids = files.map((f) => f._id);
    await this.c.blobFiles.deleteMany({ _id: { $in: ids } });
    await this.c.blobChunks.deleteMany({ files_id: { $in: ids } });
    return ids.length;
  }

  private async upload(projectId: string, blob: Blob): Promise<void> {
    const metadata: BlobMetadata = { projectId, sha256: blob.sha256, size: blob.bytes.length, usedAt: new Date() };
    const stream = this.c.bucket.openUploadStream(`${projectId}/${blob.sha256}`, { metadata });
    try {
      await new Promise<void>((resolve, reject) => {
        stream.once("error", reject);
        stream.once("finish", resolve);
        stream.end(blob.bytes);
      });
    } catch (err) {
      // A concurrent write stored the same content first: keep theirs, drop our chunks.
      if (!(err instanceof MongoServerError && err.code === DUPLICATE_KEY)) throw err;
      await this.c.blobChunks.deleteMany({ files_id: stream.id });
    }
  }
}
