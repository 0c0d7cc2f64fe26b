/**
 * Restoring a 300-file / 3 MB version (the one the backup benchmark left) into a fresh local workspace:
 * every blob read and checked, the sandbox synced, a new head revision and version written.
 */
import type { AuthData } from "../../lib/routes";
import type { ProjectsApi } from "../../projects/contract";
import type { VfsApi } from "../../vfs/contract";
import type { WorkspaceApi } from "../../workspace/contract";
import { runningWorkspace } from "../support/kiln";
import { fmt, percentile, time, type BenchRow } from "./measure";

export async function benchRestore(options: { workspace: WorkspaceApi; vfs: VfsApi; projects: ProjectsApi; projectId: string; workspaceId: string; auth: AuthData }): Promise<BenchRow[]> {
  const { workspace, vfs, projects, projectId, workspaceId, auth } = options;
  await vfs.backupWorkspace({ projectId, workspaceId, jobId: "job_bench", label: "job job_bench" }, auth);
  const version = await vfs.recordVersion({ projectId, jobId: "job_bench", prompt: "bench", status: "completed" }, auth);
  let files = 0;
  // One warm-up, then three timed restores, each into a workspace made (and running) before the clock starts.
  const samples: number[] = [];
  for (let run = 0; run < 4; run++) {
    const fresh = await runningWorkspace(workspace, projectId);
    await projects.recordActivity({ id: projectId, workspaceId: fresh.id });
    const ms = await time(() => vfs.restoreVersion({ projectId, versionId: version.id }, auth));
    if (run > 0) samples.push(ms);
    files = (await workspace.listFiles({ id: fresh.id })).files.filter((f) => !f.isDir).length;
  }
  return [{ benchmark: "restore a version (300 files, 3 MB)", measure: "into a fresh workspace, median of 3", value: fmt(percentile(samples, 50)), note: `${files} files in the sandbox after; every blob checked, a new head revision and version` }];
}
