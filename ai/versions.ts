import { errorFields, type Logger } from "../lib/log";
import type { VfsApi, VersionStatus } from "../vfs/contract";
import type { Executor } from "./jobs/runner";

/** The runner aborts a job with this reason when its user cancels it (and with another when it only loses the job). */
const CANCELLED = "cancelled";

/**
 * Wraps the generation executor so every job that ends (completed, failed or cancelled) leaves a version:
 * the vfs marks the snapshot of the job's final backup with its prompt, outcome and changes. A job that
 * is only handed to another runner (its lease lost, the process stopping) is not ending and leaves none.
 * A version that cannot be recorded is logged: the job's files are already in the vfs.
 */
export function leavingVersions(execute: Executor, vfs: Pick<VfsApi, "recordVersion">, log: Logger): Executor {
  return async (ctx) => {
    const result = await execute(ctx);
    const reason: unknown = ctx.signal.reason;
    const cancelled = ctx.signal.aborted && reason instanceof Error && reason.message === CANCELLED;
    if (ctx.signal.aborted && !cancelled) return result;
    const status: VersionStatus = result.status === "completed" ? "completed" : cancelled ? "cancelled" : "failed";
    const summary = result.status === "completed" ? result.summary : (result.summary ?? result.error);
    const { job } = ctx;
    await vfs
      .recordVersion({ projectId: job.projectId, jobId: job.id, prompt: job.prompt, status, summary }, { userID: job.ownerId })
      .catch((err: unknown) => log.warn("the generation's version was not recorded", { jobId: job.id, ...errorFields(err) }));
    return result;
  };
}
