import { inBatches, INTERNAL_CALL_FILES } from "../lib/batches";
import { AppError } from "../lib/errors";
import type { Workspace, WorkspaceApi } from "../workspace/contract";
import type { WorkspaceFiles } from "./backup";
import type { ManifestEntry } from "./contract";
import { isStorablePath } from "./paths";

/** What restoring a version into a sandbox needs of the workspace service. */
export type VersionWorkspace = WorkspaceFiles & Pick<WorkspaceApi, "get" | "start" | "create" | "deleteFiles" | "del">;

/** A file of a version with its bytes, read and checked. */
export type VersionFile = ManifestEntry & { bytes: Buffer };

/** How long a stopped or new workspace is waited for before a restore or fork gives up. */
const READY_TIMEOUT_MS = 120_000;

/**
 * Waits until a workspace runs (starting it when stopped or archived), looking at once and then less
 * and less often. `unavailable` past the timeout, `failed_precondition` when it failed or is gone.
 */
export async function runningWorkspace(workspace: VersionWorkspace, id: string, timeoutMs = READY_TIMEOUT_MS): Promise<Workspace> {
  const deadline = Date.now() + timeoutMs;
  let current = await workspace.get({ id });
  if (current.status === "stopped" || current.status === "archived") current = await workspace.start({ id });
  for (let pause = 25; current.status !== "running"; pause = Math.min(pause * 2, 1000)) {
    if (current.status === "error" || current.status === "deleted") {
      throw new AppError("failed_precondition", `workspace ${id} is ${current.status}${current.lastError ? `: ${current.lastError}` : ""}`);
    }
    if (Date.now() > deadline) throw new AppError("unavailable", `workspace ${id} is still ${current.status}; try again shortly`);
    await new Promise((resolve) => setTimeout(resolve, pause));
    current = await workspace.get({ id });
  }
  return current;
}

/**
 * Makes a running sandbox hold exactly `files`: what differs (by hash and mode) is written, what the
 * version lacks is deleted. Files the vfs could never keep (names its path check refuses) and what the
 * workspace does not list (node_modules, .git, build output) are left alone.
 */
export async function syncWorkspace(workspace: VersionWorkspace, id: string, files: readonly VersionFile[]): Promise<void> {
  const listing = (await workspace.listFiles({ id, path: "", recursive: true, hashes: true })).files.filter((f) => !f.isDir);
  const present = new Map(listing.map((f) => [f.path, f]));
  const wanted = new Set(files.map((f) => f.path));
  const extra = listing.filter((f) => !wanted.has(f.path) && isStorablePath(f.path)).map((f) => f.path);
  for (let i = 0; i < extra.length; i += INTERNAL_CALL_FILES) await workspace.deleteFiles({ id, paths: extra.slice(i, i + INTERNAL_CALL_FILES) });
  const differing = files.filter((f) => {
    const there = present.get(f.path);
    return !there || there.sha256 !== f.sha256 || (there.mode !== undefined && there.mode !== f.mode);
  });
  const payload = differing.map((f) => ({ path: f.path, contentBase64: f.bytes.toString("base64"), mode: f.mode }));
  await inBatches(payload, (batch) => workspace.writeFiles({ id, files: batch }));
}
