import { createHash } from "node:crypto";
import type Anthropic from "@anthropic-ai/sdk";
import { hasCode } from "../../lib/errors";
import type { Logger } from "../../lib/log";
import { inSpan } from "../../lib/tracing";
import type { AuthData } from "../../lib/routes";
import { hasStarter, TemplateCatalog } from "../../lib/templates";
import type { Project, ProjectsApi } from "../../projects/contract";
import type { Workspace, WorkspaceApi } from "../../workspace/contract";
import { runAgent, type AgentEvent, type AgentLimits, type AgentProgress } from "../agent/loop";
import { continuedConversation } from "../agent/follow-up";
import { PendingBackups } from "../agent/ports";
import { systemPrompt } from "../agent/prompt";
import { createTools } from "../agent/tools";
import type { PreviewBrowser } from "../checks/browser";
import { createChecker } from "../checks/checker";
import { CompletionGate, type AppCheckReport } from "../checks/report";
import { backupOf, devServerOf, sandboxOf, type JobVfs } from "./adapters";
import { EventWriter } from "./event-writer";
import type { Executor, JobContext, JobResult } from "./runner";
import type { JobRecord, TranscriptOutcome } from "./store";

/** Where the pipeline reports what operators count (Prometheus in standalone). */
export interface JobMetrics {
  toolCall(tool: string, ok: boolean, ms: number): void;
  tokens(usage: { inputTokens: number; outputTokens: number; cacheReadTokens: number; cacheWriteTokens: number }): void;
}

/** What running a generation needs: the other services through their contracts, and Claude. */
export interface PipelineDeps {
  projects: Pick<ProjectsApi, "get" | "recordActivity" | "appendMessage" | "conversation">;
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
  log: Logger;
}

class JobFailure extends Error {}

/** A duration for people: "0.3 s", "120 s". */
const seconds = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;

/** Looks at a project's workspace before a failing answer other than "not found" fails the step. */
const LOOKUP_ATTEMPTS = 4;

/** The longest pause between two looks at a workspace whose archived sandbox is being restored (minutes on Daytona). */
const RESTORE_POLL_MS = 5_000;

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });

/**
 * For a job whose runners kept dying: marks its project failed (no project stays `generating`) and
 * backs up its workspace, so nothing it wrote to the sandbox is lost.
 */
export function createSalvage(deps: Pick<PipelineDeps, "vfs" | "projects">): (job: JobRecord) => Promise<void> {
  return async (job) => {
    await deps.projects.recordActivity({ id: job.projectId, status: "failed" });
    if (!job.workspaceId) return;
    await deps.vfs.backupWorkspace({ projectId: job.projectId, workspaceId: job.workspaceId, jobId: job.id, label: `salvaged from job ${job.id}` }, { userID: job.ownerId });
  };
}

/**
 * The generation pipeline: prepare the project's workspace (reuse, start, or re-create and restore),
 * poll until it runs, run the agent with the project's conversation, then finish with the preview.
 */
export function createPipeline(deps: PipelineDeps): Executor {
  const templates = deps.templates ?? TemplateCatalog.shared();

  /**
   * The project's workspace, or null when the workspace service says it is not found. Any other error
   * (the service briefly unreachable) is retried and then fails the step with its reason: re-creating
   * the sandbox on a transient error would restore an older backup over live work.
   */
  async function lookUp(ctx: JobContext, id: string): Promise<Workspace | null> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await deps.workspace.get({ id });
      } catch (err) {
        if (hasCode(err, "not_found")) return null;
        if (attempt >= LOOKUP_ATTEMPTS || ctx.signal.aborted) {
          throw new JobFailure(`could not look at workspace ${id} (${attempt} tries): ${err instanceof Error ? err.message : String(err)}`);
        }
        await sleep(100 * 2 ** attempt, ctx.signal);
      }
    }
  }

  /** Finds or makes the project's workspace; says whether its files must be restored from the vfs. */
  async function prepare(ctx: JobContext, project: Project): Promise<{ workspace: Workspace; restore: boolean }> {
    if (project.workspaceId) {
      const existing = await lookUp(ctx, project.workspaceId);
      if (existing && (existing.status === "stopped" || existing.status === "archived")) {
        await ctx.emit("workspace", { action: "starting", workspaceId: existing.id, status: existing.status });
        return { workspace: await deps.workspace.start({ id: existing.id }), restore: false };
      }
      if (existing && existing.status !== "deleted" && existing.status !== "error") return { workspace: existing, restore: false };
      await ctx.emit("workspace", { action: "recreating", previous: project.workspaceId, reason: existing?.lastError ?? "its sandbox is gone" });
    }
    // A re-created workspace gets the template's files and dependencies, then its own files from the vfs over them.
    const restore = project.workspaceId !== null;
    const created = await deps.workspace.create({ projectId: ctx.job.projectId, template: project.template, restoring: restore });
    await deps.projects.recordActivity({ id: ctx.job.projectId, workspaceId: created.id });
    return { workspace: created, restore };
  }

  /**
   * Looks at the workspace at once and then less and less often (25 ms doubling up to `workspacePollMs`)
   * until it runs: a local sandbox is ready in tens of milliseconds, a cloud one in seconds. Its error,
   * deletion or the timeout fail the job. An archived sandbox being restored (`restoring`: minutes on
   * Daytona) is said once and looked at up to every {@link RESTORE_POLL_MS}; the restore does not count
   * against the timeout, which starts again when it ends (the provider owns the restore's own deadline
   * and reports `error` past it).
   */
  async function waitUntilRunning(ctx: JobContext, workspaceId: string): Promise<void> {
    let started = Date.now();
    let saidRestoring = false;
    for (let pause = 25; ; ) {
      const current = await deps.workspace.get({ id: workspaceId });
      if (current.status === "running") return;
      if (current.status === "error") throw new JobFailure(`workspace ${workspaceId} failed: ${current.lastError ?? "no reason given"}`);
      if (current.status === "deleted") throw new JobFailure(`workspace ${workspaceId} was deleted while starting: ${current.lastError ?? "no reason given"}`);
      const restoring = current.status === "restoring";
      if (restoring) {
        started = Date.now();
        if (!saidRestoring) await ctx.emit("workspace", { action: "restoring", workspaceId });
        saidRestoring = true;
      } else if (Date.now() - started >= deps.workspaceReadyTimeoutMs) {
        throw new JobFailure(`workspace ${workspaceId} was not ready after waiting ${seconds(deps.workspaceReadyTimeoutMs)} (still ${current.status})`);
      }
      if (ctx.signal.aborted) return;
      await sleep(pause, ctx.signal);
      pause = Math.min(pause * 2, restoring ? Math.max(deps.workspacePollMs, RESTORE_POLL_MS) : deps.workspacePollMs);
    }
  }

  /**
   * Brings the dev server up beside the agent's first turn (the template's, or the one a resumed job had
   * started) and says `preview_ready` the moment it answers, so the user watches the app from the first
   * edit (hot reload shows the rest). Never fails the job: the agent's completion checks the dev server again.
   */
  function earlyPreview(ctx: JobContext, workspace: Workspace, command: string, finished: () => boolean, log: Logger): Promise<void> {
    return deps.workspace
      .ensureDevServer({ id: workspace.id, command })
      .then(async (status) => {
        if (finished()) return;
        if (!status.ok) {
          await ctx.emit("workspace", { action: "dev_server_not_answering", problem: status.problem, logTail: status.logTail });
          return;
        }
        // A dev server answering without a URL to show it at has nothing to preview yet.
        if (status.previewUrl === null) return;
        await ctx.emit("preview_ready", { url: status.previewUrl, token: status.previewToken });
        await deps.projects.recordActivity({ id: ctx.job.projectId, previewUrl: status.previewUrl });
      })
      .catch((err) => log.warn("the early preview failed", { reason: err instanceof Error ? err.message : String(err) }));
  }

  /**
   * What a new prompt on the project continues: the previous job's transcript, compacted and bounded by
   * half the compaction threshold; for a project whose jobs saved none, its prompts and summaries.
   */
  async function earlierConversation(ctx: JobContext, auth: AuthData): Promise<Anthropic.MessageParam[]> {
    const previous = await ctx.previousTranscript();
    if (previous) return continuedConversation(previous.messages, previous.outcome?.summary ?? null, Math.floor(deps.limits.compactAboveTokens / 2));
    const { messages } = await deps.projects.conversation({ id: ctx.job.projectId }, auth);
    const turns: Anthropic.MessageParam[] = [];
    for (const message of messages) {
      const last = turns[turns.length - 1];
      if (last && last.role === message.role) last.content = `${last.content as string}\n\n${message.content}`;
      else turns.push({ role: message.role, content: message.content });
    }
    if (turns[turns.length - 1]?.role === "user") turns.push({ role: "assistant", content: "(that request ended without a summary)" });
    return turns;
  }

  const run = async (ctx: JobContext): Promise<JobResult> => {
    const { job } = ctx;
    const auth: AuthData = { userID: job.ownerId };
    const log = deps.log.child({ jobId: job.id, projectId: job.projectId });
    // An early preview still probing when the job ends keeps quiet: nothing is said after the final event.
    let finished = false;
    // A job taken over after its runner died continues the conversation it saved, in the same workspace.
    const saved = job.attempt > 1 ? await ctx.transcript() : null;
    try {
      await ctx.step("preparing_workspace", 5);
      await deps.projects.recordActivity({ id: job.projectId, status: "generating", latestJobId: job.id });
      const project = await deps.projects.get({ id: job.projectId }, auth);
      const template = templates.find(project.template);
      const starter = template && hasStarter(template) ? template : undefined;
      const { workspace, restore } = await prepare(ctx, project);
      await ctx.record({ workspaceId: workspace.id });

      await ctx.step("waiting_for_workspace", 10, { workspaceId: workspace.id });
      await waitUntilRunning(ctx, workspace.id);
      if (ctx.signal.aborted) return { status: "failed", error: "cancelled" };
      if (restore) {
        const restored = await deps.vfs.restoreWorkspace({ projectId: job.projectId, workspaceId: workspace.id }, auth);
        await ctx.emit("restored", { files: restored.files, snapshotId: restored.snapshotId });
      }
      if (starter || saved) {
        const current = await deps.workspace.get({ id: workspace.id });
        const devCommand = current.devCommand ?? starter?.manifest.dev;
        if (devCommand) void earlyPreview(ctx, current, devCommand, () => finished || ctx.signal.aborted, log);
      }

      await ctx.step("generating", 20);
      const backup = backupOf(deps.vfs, job.projectId, job.id, auth);
      const backups = new PendingBackups(backup);
      const events = new EventWriter(ctx.emit);
      const ids = { projectId: job.projectId, workspaceId: workspace.id, jobId: job.id };
      const sandbox = sandboxOf(deps.workspace, workspace.id);
      let passed: AppCheckReport | null = null;
      const tools = createTools({
        sandbox,
        backup,
        backups,
        checker: createChecker({
          sandbox,
          devServer: devServerOf(deps.workspace, deps.vfs, ids, auth),
          browser: deps.checks.browser,
          manifest: starter?.manifest ?? null,
          commandTimeoutMs: deps.checks.commandTimeoutMs,
          browserTimeoutMs: deps.checks.browserTimeoutMs,
          onEvent: (type, data) => events.event(type, data),
        }),
        gate: new CompletionGate(deps.checks.maxFailedCompletions),
        onPassed: (report) => (passed = report),
        commandTimeouts: { defaultTimeoutSeconds: 120, maxTimeoutSeconds: 1800 },
      });
      let toolCalls = job.toolCalls;
      const usage = { ...job.usage };
      const onEvent = (event: AgentEvent) => {
        if (event.type === "text") return events.text(event.text);
        void events.then(async () => {
          if (event.type === "usage") {
            deps.metrics?.tokens(event);
            usage.inputTokens += event.inputTokens;
            usage.outputTokens += event.outputTokens;
            usage.cacheReadTokens += event.cacheReadTokens;
            usage.cacheWriteTokens += event.cacheWriteTokens;
            await ctx.record({ usage: { ...usage } });
          }
          if (event.type === "tool_finished") {
            deps.metrics?.toolCall(event.name, event.ok, event.durationMs);
            await ctx.record({ toolCalls: ++toolCalls });
          }
          const { type, ...data } = event;
          await ctx.emit(type, data);
        });
      };
      const system = systemPrompt(deps.limits, starter?.manifest ?? null);
      const systemVersion = createHash("sha256").update(JSON.stringify(system)).digest("hex").slice(0, 16);
      let outcome: TranscriptOutcome;
      if (saved?.outcome) outcome = saved.outcome;
      else {
        const conversation = saved ? [] : await earlierConversation(ctx, auth);
        if (!saved) await deps.projects.appendMessage({ id: job.projectId, role: "user", content: job.prompt, jobId: job.id });
        let progress: AgentProgress = saved ?? { messages: [], turns: 0, compactions: 0 };
        const agent = await runAgent({
          client: deps.anthropic,
          model: deps.model,
          system,
          tools,
          history: conversation,
          prompt: job.prompt,
          limits: deps.limits,
          signal: ctx.signal,
          onEvent,
          ...(saved ? { resume: saved } : {}),
          checkpoint: (now) => ctx.saveTranscript({ systemVersion, ...(progress = now), outcome: null }),
        });
        await events.drain();
        outcome = { end: agent.end, summary: agent.summary, previewUrl: (passed as AppCheckReport | null)?.previewUrl ?? null };
        // Saved before finishing: a job taken over from here only finishes, it does not talk to the model again.
        if (!ctx.signal.aborted) await ctx.saveTranscript({ systemVersion, messages: agent.messages, turns: agent.turns, compactions: progress.compactions, outcome });
      }

      await ctx.step("completing", 90);
      const unsaved = await backups.flush();
      await deps.vfs.backupWorkspace({ projectId: job.projectId, workspaceId: workspace.id, jobId: job.id, label: `job ${job.id}` }, auth).catch((err) => {
        log.warn("final backup failed", { reason: err instanceof Error ? err.message : String(err) });
      });
      if (unsaved.length > 0) log.warn("files still waiting for their backup", { paths: unsaved });
      await deps.projects.appendMessage({ id: job.projectId, role: "assistant", content: outcome.summary, jobId: job.id });

      const report = passed as AppCheckReport | null;
      const previewUrl = outcome.previewUrl;
      if (outcome.end === "completed" && previewUrl) {
        if (report?.screenshot) {
          // The screenshot of the passing check becomes the project's thumbnail; losing it loses no work.
          const saved = await deps.vfs.saveThumbnail({ projectId: job.projectId, jobId: job.id, pngBase64: report.screenshot.toString("base64") }, auth).catch((err) => {
            log.warn("the thumbnail was not saved", { reason: err instanceof Error ? err.message : String(err) });
            return null;
          });
          if (saved) await ctx.emit("thumbnail", { sha256: saved.sha256, url: `/projects/${job.projectId}/thumbnail` });
          await deps.projects.recordActivity({ id: job.projectId, status: "ready", previewUrl, ...(saved ? { thumbnailSha256: saved.sha256 } : {}) });
        } else await deps.projects.recordActivity({ id: job.projectId, status: "ready", previewUrl });
        return { status: "completed", summary: outcome.summary, previewUrl };
      }
      await deps.projects.recordActivity({ id: job.projectId, status: ctx.signal.aborted ? "cancelled" : "failed" });
      return { status: "failed", error: outcome.end === "completed" ? "the agent completed without a working preview" : outcome.summary, summary: outcome.summary };
    } catch (err) {
      await deps.projects.recordActivity({ id: job.projectId, status: ctx.signal.aborted ? "cancelled" : "failed" }).catch(() => undefined);
      if (err instanceof JobFailure) return { status: "failed", error: err.message };
      throw err;
    } finally {
      finished = true;
    }
  };

  return (ctx) => inSpan("generation", { "kiln.job_id": ctx.job.id, "kiln.project_id": ctx.job.projectId, "kiln.attempt": ctx.job.attempt }, () => run(ctx));
}
