/**
 * Backing a 300-file / 3 MB project up from a local workspace into the vfs: full, unchanged, and with
 * 5 files changed, side by side with the earlier design's naive sync (list, then for each file one
 * sandbox read and one GridFS upload, sequentially).
 */
import { GridFSBucket, type Db } from "mongodb";
import type { AuthData } from "../../lib/routes";
import type { VfsApi } from "../../vfs/contract";
import type { WorkspaceApi } from "../../workspace/contract";
import { fmt, projectFiles, time, type BenchRow } from "./measure";

async function naiveSync(workspace: WorkspaceApi, workspaceId: string, db: Db, projectId: string): Promise<void> {
  const bucket = new GridFSBucket(db, { bucketName: "naive" });
  const listing = await workspace.listFiles({ id: workspaceId, path: "", recursive: true });
  for (const file of listing.files.filter((f) => !f.isDir)) {
    const [read] = (await workspace.readFiles({ id: workspaceId, paths: [file.path] })).files;
    await new Promise<void>((resolve, reject) => {
      const upload = bucket.openUploadStream(`${projectId}/${file.path}`);
      upload.once("finish", () => resolve());
      upload.once("error", reject);
      upload.end(Buffer.from(read!.contentBase64!, "base64"));
    });
  }
}

export async function benchBackup(options: { workspace: WorkspaceApi; vfs: VfsApi; db: Db; projectId: string; workspaceId: string; auth: AuthData }): Promise<BenchRow[]> {
  const { workspace, vfs, db, projectId, workspaceId, auth } = options;
  const files = projectFiles(300, 10_000, 7);
  await workspace.writeFiles({ id: workspaceId, files: files.map((f) => ({ path: f.path, contentBase64: f.content.toString("base64") })) });

  const naive = await time(() => naiveSync(workspace, workspaceId, db, projectId));
  let full = 0;
  const fullTime = await time(async () => (full = (await vfs.backupWorkspace({ projectId, workspaceId }, auth)).uploadedBlobs));
  let unchangedUploads = -1;
  const unchanged = await time(async () => (unchangedUploads = (await vfs.backupWorkspace({ projectId, workspaceId }, auth)).uploadedBlobs));
  const changed = files.slice(0, 5).map((f) => ({ path: f.path, contentBase64: Buffer.from(`changed ${f.path}`).toString("base64") }));
  await workspace.writeFiles({ id: workspaceId, files: changed });
  let fiveUploads = -1;
  const five = await time(async () => (fiveUploads = (await vfs.backupWorkspace({ projectId, workspaceId }, auth)).uploadedBlobs));
  return [
    { benchmark: "vfs backup (300 files, 3 MB)", measure: "naive sync of the earlier design", value: fmt(naive), note: "list, then per file one sandbox read + one GridFS upload, sequentially" },
    { benchmark: "vfs backup (300 files, 3 MB)", measure: "full incremental backup", value: fmt(fullTime), note: `${(naive / fullTime).toFixed(1)}× faster than naive; ${full} blobs uploaded` },
    { benchmark: "vfs backup (300 files, 3 MB)", measure: "re-backup, nothing changed", value: fmt(unchanged), note: `${unchangedUploads} blobs uploaded (target < 150 ms)` },
    { benchmark: "vfs backup (300 files, 3 MB)", measure: "re-backup, 5 files changed", value: fmt(five), note: `${fiveUploads} blobs uploaded` },
  ];
}
