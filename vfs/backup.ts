import { base64Length, batchBySize, inBatches, readInBatches } from "../lib/batches";
import type { WorkspaceApi } from "../workspace/contract";
import type { ChangeLabel, SnapshotInfo } from "./contract";
import type { VfsLimits } from "./input";
import type { NewFile, VfsStore } from "./store";
import { DEFAULT_MODE } from "./input";
import { isStorablePath } from "./paths";

/** What the vfs needs of the workspace service to back a sandbox up and to restore one. */
export type WorkspaceFiles = Pick<WorkspaceApi, "listFiles" | "readFiles" | "writeFiles">;

/** What a backup did. */
export interface BackupOutcome {
  snapshot: SnapshotInfo;
  /** Files whose content changed or are new, read from the sandbox in batches under the internal-call limit. */
  changed: number;
  unchanged: number;
  deleted: number;
  /** New blobs written to GridFS. */
  uploadedBlobs: number;
  /** Files the vfs cannot keep (over its file limit, or a name its path check refuses): listed, not stored. */
  skipped: string[];
}

/**
 * Sandbox reads a backup keeps in flight at once. A read of a remote sandbox costs round trips (Daytona
 * downloads each file as a request of its own), so several batches travel together; each is under the
 * internal-call limit, so memory stays bounded by this many batches.
 */
const READS_AT_ONCE = 4;

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Incremental backup of a workspace: one sandbox call lists every file with its sha256, the vfs's
 * manifest says which changed, only those are read (in batches under the internal-call limit, a few
 * batches in flight at once, each stored as it arrives; unchanged content never re-uploaded), removed files are recorded as
 * deletions, and a snapshot is written.
 */
export async function backupWorkspace(
  store: VfsStore,
  workspace: WorkspaceFiles,
  request: { projectId: string; workspaceId: string; label: ChangeLabel & { label?: string } },
  limits: VfsLimits,
): Promise<BackupOutcome> {
  const { projectId, workspaceId, label } = request;
  const [listing, manifest] = await Promise.all([
    workspace.listFiles({ id: workspaceId, path: "", recursive: true, hashes: true }),
    store.listFiles(projectId, "", true),
  ]);
  const stored = new Map(manifest.files.map((f) => [f.path, f]));
  const inSandbox = listing.files.filter((f) => !f.isDir);
  const keepable = (f: { path: string; size: number }) => f.size <= limits.maxFileBytes && isStorablePath(f.path);
  const skipped = inSandbox.filter((f) => !keepable(f)).map((f) => f.path);
  const candidates = inSandbox.filter(keepable);
  const changed = candidates.filter((f) => {
    const current = stored.get(f.path);
    return !current || current.sha256 !== f.sha256 || (f.mode !== undefined && current.mode !== f.mode);
  });
  const present = new Set(inSandbox.map((f) => f.path));
  const deleted = manifest.files.filter((f) => !present.has(f.path)).map((f) => f.path);

  let uploadedBlobs = 0;
  const modes = new Map(changed.map((f) => [f.path, f.mode ?? DEFAULT_MODE]));
  // The reads overlap; the writes to the store stay one after another, in the order the reads end.
  let storing = Promise.resolve();
  const readAndStore = async (group: typeof changed) => {
    for await (const read of readInBatches(group, async (paths) => (await workspace.readFiles({ id: workspaceId, paths })).files)) {
      const files: NewFile[] = read
        .filter((f) => f.contentBase64 !== undefined)
        .map((f) => ({ path: f.path, bytes: Buffer.from(f.contentBase64!, "base64"), mode: modes.get(f.path) ?? DEFAULT_MODE }));
      storing = storing.then(async () => {
        for (const batch of chunks(files, limits.maxBatchFiles)) uploadedBlobs += (await store.writeFiles(projectId, batch, label)).uploadedBlobs;
      });
      await storing;
    }
  };
  const groups = Array.from({ length: Math.min(READS_AT_ONCE, changed.length) }, (_, g) => changed.filter((_, i) => i % READS_AT_ONCE === g));
  await Promise.all(groups.map(readAndStore));
  if (deleted.length > 0) {
    for (const batch of chunks(deleted, limits.maxBatchFiles)) await store.deleteFiles(projectId, batch, label);
  }
  const snapshot = await store.createSnapshot(projectId, label);
  return { snapshot, changed: changed.length, unchanged: candidates.length - changed.length, deleted: deleted.length, uploadedBlobs, skipped };
}

/**
 * Gives a workspace the files of a snapshot (the latest by default; the current files when the project
 * has none), byte for byte: a fresh sandbox gets the project back. Files are read from the store and
 * written to the sandbox one batch at a time, each call under the internal-call limit.
 */
export async function restoreWorkspace(
  store: VfsStore,
  workspace: WorkspaceFiles,
  request: { projectId: string; workspaceId: string; snapshotId?: string },
): Promise<{ files: number; snapshotId: string | null }> {
  const { projectId, workspaceId } = request;
  const snapshotId = request.snapshotId ?? (await store.listSnapshots(projectId, 1))[0]?.id;
  const snapshot = snapshotId ? await store.getSnapshot(projectId, snapshotId) : null;
  const entries = snapshot ? snapshot.files : (await store.listFiles(projectId, "", true)).files;
  const revision = snapshot?.snapshot.revision;
  for (const group of batchBySize(entries, (e) => base64Length(e.size), (e) => JSON.stringify(e.path))) {
    const contents = await Promise.all(group.map((e) => store.readFile(projectId, e.path, revision)));
    const files = contents.map((c) => ({ path: c.path, contentBase64: c.contentBase64, mode: c.mode }));
    await inBatches(files, (batch) => workspace.writeFiles({ id: workspaceId, files: batch }));
  }
  return { files: entries.length, snapshotId: snapshotId ?? null };
}
