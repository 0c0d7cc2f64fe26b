import type { Logger } from "../../lib/log";
import type { AuthData } from "../../lib/routes";
import type { Conversed } from "./converse";
import type { PipelineDeps } from "./pipeline";
import type { Prepared } from "./prepare";
import type { JobContext, JobResult } from "./runner";

/**
 * The finish step: the last backups, the agent's summary in the project's conversation, and the
 * outcome: completed with its preview (and the passing check's screenshot as the project's thumbnail),
 * or failed with the reason.
 */
export function createFinish(deps: PipelineDeps) {
  return async (ctx: JobContext, auth: AuthData, { workspace }: Prepared, { outcome, report, backups }: Conversed, log: Logger): Promise<JobResult> => {
    const { job } = ctx;
    await ctx.step("completing", 90);
    const unsaved = await backups.flush();
    await deps.vfs.backupWorkspace({ projectId: job.projectId, workspaceId: workspace.id, jobId: job.id, label: `job ${job.id}` }, auth).catch((err) => {
      log.warn("final backup failed", { reason: err instanceof Error ? err.message : String(err) });
    });
    if (unsaved.length > 0) log.warn("files still waiting for their backup", { paths: unsaved });
    await deps.projects.appendMessage({ id: job.projectId, role: "assistant", content: outcome.summary, jobId: job.id });

    const previewUrl = outcome.previewUrl;
    if (outcome.end === "completed" && previewUrl) {
      // The screenshot of the passing check becomes the project's thumbnail; losing it loses no work.
      const saved = report?.screenshot
        ? await deps.vfs.saveThumbnail({ projectId: job.projectId, jobId: job.id, pngBase64: report.screenshot.toString("base64") }, auth).catch((err) => {
            log.warn("the thumbnail was not saved", { reason: err instanceof Error ? err.message : String(err) });
            return null;
          })
        : null;
      if (saved) await ctx.emit("thumbnail", { sha256: saved.sha256, url: `/projects/${job.projectId}/thumbnail` });
      // Told before the job completes: a completed job's project has its preview (its status follows the job).
      await deps.projectState.preview(job.projectId, previewUrl, saved?.sha256);
      return { status: "completed", summary: outcome.summary, previewUrl };
    }
    const error = outcome.end === "completed" ? "the agent completed without a working preview" : outcome.summary;
    return { status: "failed", error, summary: outcome.summary, ...(outcome.end === "misconfigured" ? { errorKind: "misconfigured" } : {}) };
  };
}
