import { createHash } from "node:crypto";
import { MongoBulkWriteError, ObjectId, Binary } from "mongodb";
import { AppError } from "../lib/errors";
import type { BlobMetadata, VfsCollections } from "./collections";

/** GridFS's default chunk size; blobs are stored exactly as `GridFSBucket` would store them. */
const CHUNK_BYTES = 255 * 1024;
/** Bytes of chunk documents sent in one insert (well under MongoDB's 48 MB message limit). */
const INSERT_BATCH_BYTES = 8 * 1024 * 1024;

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

/** The content-addressed blob store of the vfs, on GridFS. */
export class BlobStore {
  constructor(private readonly c: VfsCollections) {}

  /**
   * Makes sure every blob is stored for the project: one query finds those already stored (marked as
   * used just now, so a sweep running alongside spares them), then only the missing ones are uploaded
   * in a few batched inserts. Returns how many were uploaded.
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
    await this.upload(projectId, missing);
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

  /**
   * Stores blobs in GridFS's own layout (`openDownloadStream` reads them), batched: every chunk first,
   * then the file documents, so a file document never points at missing chunks. A concurrent write that
   * stored the same content first wins; the chunks of our duplicate are removed.
   */
  private async upload(projectId: string, blobs: readonly Blob[]): Promise<void> {
    if (blobs.length === 0) return;
    const usedAt = new Date();
    const files = blobs.map((blob) => ({ _id: new ObjectId(), blob }));
    let batch: { files_id: ObjectId; n: number; data: Binary }[] = [];
    let batchBytes = 0;
    for (const { _id, blob } of files) {
      for (let n = 0; n * CHUNK_BYTES < Math.max(blob.bytes.length, 1); n++) {
        const data = blob.bytes.subarray(n * CHUNK_BYTES, (n + 1) * CHUNK_BYTES);
        batch.push({ files_id: _id, n, data: new Binary(data) });
        batchBytes += data.length;
        if (batchBytes >= INSERT_BATCH_BYTES) {
          await this.c.blobChunks.insertMany(batch, { ordered: false });
          batch = [];
          batchBytes = 0;
        }
      }
    }
    if (batch.length > 0) await this.c.blobChunks.insertMany(batch, { ordered: false });
    const documents = files.map(({ _id, blob }) => ({
      _id,
      length: blob.bytes.length,
      chunkSize: CHUNK_BYTES,
      uploadDate: usedAt,
      filename: `${projectId}/${blob.sha256}`,
      metadata: { projectId, sha256: blob.sha256, size: blob.bytes.length, usedAt } satisfies BlobMetadata,
    }));
    try {
      await this.c.blobFiles.insertMany(documents, { ordered: false });
    } catch (err) {
      if (!(err instanceof MongoBulkWriteError)) throw err;
      const errors = Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors];
      if (errors.some((e) => e.code !== DUPLICATE_KEY)) throw err;
      await this.c.blobChunks.deleteMany({ files_id: { $in: errors.map((e) => documents[e.index]!._id) } });
    }
  }
}
