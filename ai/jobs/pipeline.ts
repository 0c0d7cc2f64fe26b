import type Anthropic from "@anthropic-ai/sdk";
import type { Logger } from "../../lib/log";
import { inSpan } from "../../lib/tracing";
import type { AuthData } from "../../lib/routes";
import type { TemplateCatalog } from "../../lib/templates";
import type { ProjectsApi } from "../../projects/contract";
import type { WorkspaceApi } from "../../workspace/contract";
import type { AgentLimits } from "../agent/loop";
import type { PreviewBrowser } from "../checks/browser";
import type { JobApprovals } from "../approvals/gate";
import type { JobVfs } from "./adapters";
import { createConverse } from "./converse";
import { createFinish } from "./finish";
import { createPrepare, JobFailure } from "./prepare";
import type { ProjectState } from "./project-state";
import type { Executor, JobContext, JobResult } from "./runner";
import type { JobRecord } from "./store";

/** Where the pipeline reports what operators count (Prometheus in standalone). */
export interface JobMetrics {
  toolCall(tool: string, ok: boolean, ms: number): void;
  tokens(usage: { inputTokens: number; outputTokens: number; cacheReadTokens: number; cacheWriteTokens: number }): void;
}

/** What running a generation needs: the other services through their contracts, and Claude. */
export interface PipelineDeps {
  projects: Pick<ProjectsApi, "get" | "appendMessage" | "conversation">;
  /** What a job tells its project (its workspace, its preview): the only way the pipeline changes a project. */
  projectState: Pick<ProjectState, "workspace" | "preview">;
  workspace: WorkspaceApi;
  vfs: JobVfs;
  anthropic: Anthropic;
  model: string;
  limits: AgentLimits;
  /** The longest pause between two looks at a workspace that is not ready yet (the first look is at once). */
  workspacePollMs: number;
  workspaceReadyTimeoutMs: number;
  /** How an app is checked before a generation may complete. */
  checks: {
    /** The server's browser (one per process); null where none can run, which fails the browser check. */
    browser: PreviewBrowser | null;
    commandTimeoutMs: number;
    browserTimeoutMs: number;
    /** Completions refused by failing checks before the generation ends failed. */
    maxFailedCompletions: number;
  };
  /** The templates projects start from (the repository's by default). */
  templates?: TemplateCatalog;
  metrics?: JobMetrics;
  /** Approval mode: where each job's gate keeps its approvals; absent, every tool call runs without asking. */
  approvals?: JobApprovals;
  log: Logger;
}

/** For a job whose runners kept dying: backs up its workspace, so nothing it wrote to the sandbox is lost. */
export function createSalvage(deps: Pick<PipelineDeps, "vfs">): (job: JobRecord) => Promise<void> {
  return async (job) => {
    if (!job.workspaceId) return;
    await deps.vfs.backupWorkspace({ projectId: job.projectId, workspaceId: job.workspaceId, jobId: job.id, label: `salvaged from job ${job.id}` }, { userID: job.ownerId });
  };
}

/**
 * The generation pipeline: prepare the project's workspace (reuse, start, or re-create and restore,
 * then wait until it runs), converse (the agent with the project's conversation), then finish with the
 * preview. A job taken over after its runner died goes through the same steps from what it saved.
 */
export function createPipeline(deps: PipelineDeps): Executor {
  const prepare = createPrepare(deps);
  const converse = createConverse(deps);
  const finish = createFinish(deps);

  const run = async (ctx: JobContext): Promise<JobResult> => {
    const { job } = ctx;
    const auth: AuthData = { userID: job.ownerId };
    const log = deps.log.child({ jobId: job.id, projectId: job.projectId });
    // An early preview still probing when the job ends keeps quiet: nothing is said after the final event.
    let finished = false;
    // A job taken over after its runner died continues the conversation it saved, in the same workspace.
    const saved = job.attempt > 1 ? await ctx.transcript() : null;
    try {
      const prepared = await prepare(ctx, auth, saved !== null, () => finished || ctx.signal.aborted, log);
      if (!prepared) return { status: "failed", error: "cancelled" };
      await ctx.step("generating", 20);
      const conversed = await converse(ctx, auth, prepared, saved);
      return await finish(ctx, auth, prepared, conversed, log);
    } catch (err) {
      if (err instanceof JobFailure) return { status: "failed", error: err.message, ...(err.kind ? { errorKind: err.kind } : {}) };
      throw err;
    } finally {
      finished = true;
    }
  };

  return (ctx) => inSpan("generation", { "kiln.job_id": ctx.job.id, "kiln.project_id": ctx.job.projectId, "kiln.attempt": ctx.job.attempt }, () => run(ctx));
}
