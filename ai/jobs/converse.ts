import { createHash } from "node:crypto";
import type Anthropic from "@anthropic-ai/sdk";
import type { AuthData } from "../../lib/routes";
import { jobApprovalGate } from "../approvals/gate";
import { continuedConversation } from "../agent/follow-up";
import { runAgent, type AgentEvent, type AgentProgress } from "../agent/loop";
import { PendingBackups } from "../agent/ports";
import { systemPrompt } from "../agent/prompt";
import { createTools } from "../agent/tools";
import { createChecker } from "../checks/checker";
import { CompletionGate, type AppCheckReport } from "../checks/report";
import { backupOf, devServerOf, sandboxOf } from "./adapters";
import { EventWriter } from "./event-writer";
import { restartProcesses } from "./processes";
import type { PipelineDeps } from "./pipeline";
import type { Prepared } from "./prepare";
import { LeaseLost, type JobContext } from "./runner";
import type { Transcript, TranscriptOutcome, TurnEvent } from "./store";

/** Why a resumed agent stopped at the time limit, naming the limit (the agent only knew what was left of it). */
const timeLimitReached = (limitMs: number, leftMs: number) =>
  `stopped after ${Math.round(limitMs / 1000)} s (the time limit, counted over every attempt of this generation: this attempt had ${Math.round(leftMs / 1000)} s left)`;

/** What the conversation hands on to finishing. */
export interface Conversed {
  outcome: TranscriptOutcome;
  /** The report of the check that passed, with its screenshot (null when none did, or on a job resumed after it). */
  report: AppCheckReport | null;
  /** Files whose per-file backup is still pending. */
  backups: PendingBackups;
}

/**
 * The converse step: the agent with its tools in the prepared workspace, the project's earlier
 * conversation as history (or, for a job taken over, the transcript it saved), every event in order
 * and the transcript saved as it goes.
 */
export function createConverse(deps: PipelineDeps) {
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

  return async (ctx: JobContext, auth: AuthData, { starter, workspace }: Prepared, saved: Transcript | null): Promise<Conversed> => {
    const { job } = ctx;
    const backup = backupOf(deps.vfs, job.projectId, job.id, auth);
    const backups = new PendingBackups(backup);
    const events = new EventWriter(ctx.emit, ctx.saveTurn);
    const ids = { projectId: job.projectId, workspaceId: workspace.id, jobId: job.id };
    const sandbox = sandboxOf(deps.workspace, workspace.id, { earlier: job.processes.length, started: ctx.recordProcess });
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
    const onEvent = (event: AgentEvent) => {
      if (event.type === "text") return events.text(event.text);
      if (event.type === "usage") deps.metrics?.tokens(event);
      if (event.type === "tool_finished") deps.metrics?.toolCall(event.name, event.ok, event.durationMs);
      // A result, a usage and a compaction are stored with the checkpoint that follows them (the same
      // turn), which adds their tokens and tool calls to the job's counts.
      if (event.type === "tool_finished" || event.type === "usage" || event.type === "compacted") {
        const { type, ...data } = event;
        void events.turnEvent({ type, data } as TurnEvent);
      } else {
        const { type, ...data } = event;
        void events.event(type, data);
      }
    };
    const system = systemPrompt(deps.limits, starter?.manifest ?? null);
    const systemVersion = createHash("sha256").update(JSON.stringify(system)).digest("hex").slice(0, 16);
    let outcome: TranscriptOutcome;
    if (saved?.outcome) outcome = saved.outcome;
    else {
      const conversation = saved ? [] : await earlierConversation(ctx, auth);
      if (!saved) await deps.projects.appendMessage({ id: job.projectId, role: "user", content: job.prompt, jobId: job.id });
      let progress: AgentProgress = saved ?? { messages: [], turns: 0, compactions: 0 };
      // The time limit counts from the job's first start over every attempt: a resumed agent gets what is left.
      const leftMs = Math.max(0, deps.limits.wallClockMs - job.agentMs);
      // The background processes the agent had started run again, and it is told what changed.
      const resumeNote = saved ? await restartProcesses(deps.workspace, workspace.id, job.processes, ctx.recordProcess) : null;
      const agent = await runAgent({
        client: deps.anthropic,
        model: deps.model,
        system,
        tools,
        history: conversation,
        prompt: job.prompt,
        limits: { ...deps.limits, wallClockMs: leftMs },
        signal: ctx.signal,
        onEvent,
        ...(deps.approvals ? { approvals: jobApprovalGate(deps.approvals, ctx, deps.projects, auth, sandbox, events) } : {}),
        ...(saved ? { resume: saved, usedBefore: job.usage, ...(resumeNote ? { resumeNote } : {}) } : {}),
        checkpoint: (now) => events.checkpoint({ systemVersion, ...(progress = now), outcome: null }),
      });
      const summary = agent.end === "timeout" && job.agentMs > 0 ? timeLimitReached(deps.limits.wallClockMs, leftMs) : agent.summary;
      outcome = { end: agent.end, summary, previewUrl: (passed as AppCheckReport | null)?.previewUrl ?? null };
      // Saved before finishing, with the last turn's events: a job taken over from here only finishes, it does not talk to the model again.
      if (!ctx.signal.aborted) void events.checkpoint({ systemVersion, messages: agent.messages, turns: agent.turns, compactions: progress.compactions, outcome });
      await events.drain();
      // Stopped because another runner takes the job over: it goes on from the saved transcript, nothing is finished here.
      if (ctx.signal.reason instanceof LeaseLost) throw ctx.signal.reason;
    }

    return { outcome, report: passed as AppCheckReport | null, backups };
  };
}
