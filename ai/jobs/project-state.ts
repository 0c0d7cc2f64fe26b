import { hasCode } from "../../lib/errors";
import { errorFields, type Logger } from "../../lib/log";
import type { ProjectsApi } from "../../projects/contract";
import type { JobStatus, JobStore } from "./store";

/** A project's status as its generations leave it. */
export type ProjectStatus = "new" | "generating" | "ready" | "failed" | "cancelled";

/** The project's status for the status of the newest job that was claimed or is still to run (null: none). */
export function projectStatusOf(jobStatus: JobStatus | null): ProjectStatus {
  switch (jobStatus) {
    case null:
      return "new";
    case "queued":
    case "running":
      return "generating";
    case "completed":
      return "ready";
    default:
      return jobStatus;
  }
}

/** Unsynced projects told again per sweep. */
const SWEEP_BATCH = 50;

/**
 * The one owner of what a project's generations say about it, and the only caller of the projects
 * service's `recordActivity` in the ai service. Status and latest job are derived from the jobs table
 * (`settle`) after every job transition, with the version the transition took, so a late or repeated
 * telling never overwrites a newer one; a teller that died or failed is caught up by `sweep`. The
 * preview URL, the thumbnail and the workspace are facts a running job learns: they are told as learnt,
 * and the preview before the job completes, so a completed job's project always has its preview.
 */
export function createProjectState(deps: { store: JobStore; projects: Pick<ProjectsApi, "recordActivity">; log: Logger }) {
  const { store, projects, log } = deps;

  async function settle(projectId: string): Promise<void> {
    const state = await store.projectState(projectId);
    if (state.version === 0) return;
    try {
      await projects.recordActivity({
        id: projectId,
        status: projectStatusOf(state.jobStatus),
        ...(state.latestJobId ? { latestJobId: state.latestJobId } : {}),
        statusVersion: state.version,
      });
    } catch (err) {
      // A deleted project has nothing to be told; anything else is tried again by the sweep.
      if (!hasCode(err, "not_found")) throw err;
    }
    await store.markSynced(projectId, state.version);
  }

  async function sweep(graceMs: number): Promise<number> {
    let told = 0;
    for (const projectId of await store.unsyncedProjects(graceMs, SWEEP_BATCH)) {
      try {
        await settle(projectId);
        told++;
      } catch (err) {
        log.warn("could not tell the project its generation's state", { projectId, ...errorFields(err) });
      }
    }
    return told;
  }

  return {
    /** Tells the project what its generations now say; never throws (the sweep tries again). */
    async settle(projectId: string): Promise<void> {
      await settle(projectId).catch((err: unknown) => log.warn("could not tell the project its generation's state; the sweep tries again", { projectId, ...errorFields(err) }));
    },

    /** The project's workspace is now this one (a job created it). */
    async workspace(projectId: string, workspaceId: string): Promise<void> {
      await projects.recordActivity({ id: projectId, workspaceId });
    },

    /** The project's preview answers at this URL (and, at a completion, this is its thumbnail). */
    async preview(projectId: string, previewUrl: string, thumbnailSha256?: string): Promise<void> {
      await projects.recordActivity({ id: projectId, previewUrl, ...(thumbnailSha256 ? { thumbnailSha256 } : {}) });
    },

    /** Tells every project whose state was not told for `graceMs` (its teller died or failed). Returns how many were told. */
    sweep,

    /** Sweeps every `everyMs` until the returned function is called. */
    startSweeper(everyMs: number): () => void {
      let running = false;
      const timer = setInterval(() => {
        if (running) return;
        running = true;
        void sweep(everyMs)
          .catch((err: unknown) => log.warn("the project state sweep failed", errorFields(err)))
          .finally(() => (running = false));
      }, everyMs);
      timer.unref();
      return () => clearInterval(timer);
    },
  };
}

/** The project state owner's interface. */
export type ProjectState = ReturnType<typeof createProjectState>;
