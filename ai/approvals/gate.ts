import { createTwoFilesPatch } from "diff";
import { newId } from "../../lib/ids";
import type { AuthData } from "../../lib/routes";
import type { ApprovalMode, ProjectsApi } from "../../projects/contract";
import type { AgentApprovals } from "../agent/loop";
import type { AgentSandbox } from "../agent/ports";
import { toolPath } from "../agent/tools/inputs";
import { FILE_TOOLS, type ApprovalSubject, type EmitEvent } from "../contract";
import type { EventWriter } from "../jobs/event-writer";
import type { LiveEvents } from "../jobs/live";
import { LeaseLost, type JobContext } from "../jobs/runner";
import { jsonbSafe } from "../jobs/store";
import type { ApprovalRecord, ApprovalStore } from "./store";

/** The longest diff an approval shows; a longer one is cut, saying so. */
const MAX_DIFF_CHARS = 20_000;

/** What the gate of one job needs. */
export interface ApprovalGateDeps {
  store: ApprovalStore;
  job: { id: string; projectId: string };
  /** The project's approval mode, read at each call that may need asking (a change applies to the next call). */
  mode(): Promise<ApprovalMode>;
  /** A file's current text in the sandbox (null: none), for the diff of a write. */
  readFile(path: string): Promise<string | null>;
  /** Appends an event after everything the run said before it. */
  emit: EmitEvent;
  /** Moves the job to a step (`waiting_for_approval` while it waits). */
  step(step: "waiting_for_approval" | "generating"): Promise<void>;
  /** Calls `wake` when the job has news (an answer may have come); returns the unsubscribe function. */
  watch(wake: () => void): () => void;
  timeoutMs: number;
  /** How often the database is read while waiting (answers given in another process). */
  pollMs: number;
}

/** Tools that run the app's code (its checks, its dev server). */
const CHECK_TOOLS = new Set(["check_app", "attempt_completion"]);

function cutDiff(diff: string): string {
  return diff.length <= MAX_DIFF_CHARS ? diff : `${diff.slice(0, MAX_DIFF_CHARS)}\n[... ${diff.length - MAX_DIFF_CHARS} more characters of the diff not shown ...]`;
}

/**
 * A path field as the tool will use it (normalised by the one path gate), "" for the root; undefined
 * when the tool will refuse it: such a call is not asked about, it fails on its own without running.
 */
function checkedPath(input: Record<string, unknown>, field: string): string | undefined {
  try {
    return toolPath(input, field, { allowRoot: field === "cwd" });
  } catch {
    return undefined;
  }
}

/**
 * What the user must decide about before this call runs, in `mode`; null when it runs without asking.
 * `commands` asks for every command: execute_command, and a check that starts the model's own dev command.
 */
async function subjectOf(mode: ApprovalMode, tool: string, input: Record<string, unknown>, readFile: ApprovalGateDeps["readFile"]): Promise<ApprovalSubject | null> {
  if (mode === "auto") return null;
  if (tool === "execute_command") {
    const cwd = checkedPath(input, "cwd");
    return cwd === undefined ? null : { kind: "command", command: input.command as string, cwd: cwd || null, background: input.background === true };
  }
  if (CHECK_TOOLS.has(tool)) {
    const devCommand = (input.dev_command as string | undefined) ?? null;
    return mode === "everything" || devCommand !== null ? { kind: "checks", devCommand } : null;
  }
  if (mode !== "everything" || !FILE_TOOLS.has(tool)) return null;
  const path = checkedPath(input, "path");
  if (!path) return null;
  const before = await readFile(path);
  const after = tool === "write_to_file" ? (input.content as string) : before?.replace(input.old as string, () => input.new as string) ?? "";
  const diff = tool === "replace_in_file" && (before === null || !before.includes(input.old as string))
    ? createTwoFilesPatch(`a/${path}`, `b/${path}`, input.old as string, input.new as string, "", "", { context: 3 })
    : createTwoFilesPatch(before === null ? "/dev/null" : `a/${path}`, `b/${path}`, before ?? "", after, "", "", { context: 3 });
  return { kind: "file", path, diff: cutDiff(diff) };
}

/** The tool result the model gets for a call that was not approved. */
function refusal(approval: ApprovalRecord): string {
  switch (approval.status) {
    case "denied":
      return `denied by the user${approval.reason ? `: ${approval.reason}` : ""}. Do not repeat this call as it is; change the approach or ask the user.`;
    case "timed_out":
      return `denied: ${approval.reason}. Do not repeat this call as it is.`;
    default:
      return "not run: the generation was cancelled";
  }
}

/** Resolves after `ms`, or earlier when woken or `signal` aborts. */
function pause(ms: number, signal: AbortSignal, watch: ApprovalGateDeps["watch"]): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      unwatch();
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    const unwatch = watch(done);
    signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * The approval gate of one job (approval mode): a call the project's mode asks about is stored as a
 * pending approval (the exact input, what the user sees, a deadline) and announced; the run waits,
 * holding its lease, until the user answers, the deadline passes (denied as timed out) or the job is
 * cancelled. An approved call runs once: it is marked begun before it runs, and a run resumed after a
 * crash finds the same approval by the call's id (waits for it, or acts on an answer given meanwhile).
 * An execute_command whose exact command string the project allows runs without asking.
 */
export function createApprovalGate(deps: ApprovalGateDeps): AgentApprovals {
  const { store, job } = deps;

  async function emitAnswer(approval: ApprovalRecord): Promise<void> {
    if (approval.status === "pending") return;
    await deps.emit("approval_answered", { approvalId: approval.id, toolUseId: approval.toolUseId, status: approval.status, reason: approval.reason, alwaysAllow: approval.alwaysAllow });
  }

  async function waitForAnswer(pending: ApprovalRecord, signal: AbortSignal): Promise<ApprovalRecord> {
    const deadline = Date.parse(pending.deadline);
    for (let approval = pending; ; ) {
      if (signal.aborted) {
        // A runner that stops or lost the job leaves the approval to the one taking it over.
        if (signal.reason instanceof LeaseLost) throw signal.reason;
        const cancelled = await store.cancel(approval.id);
        if (cancelled) await emitAnswer(cancelled);
        return cancelled ?? (await store.get(job.id, approval.id))!;
      }
      if (approval.status !== "pending") return approval;
      if (Date.now() >= deadline) {
        const expired = await store.expire(approval.id, `no answer within ${Math.round(deps.timeoutMs / 1000)} s (the approval timed out)`);
        if (expired) {
          await emitAnswer(expired);
          return expired;
        }
      }
      await pause(Math.max(10, Math.min(deps.pollMs, deadline - Date.now())), signal, deps.watch);
      approval = (await store.get(job.id, approval.id))!;
    }
  }

  return {
    async undecided(toolUseId) {
      const approval = await store.forCall(job.id, toolUseId);
      return approval !== null && !(approval.status === "approved" && approval.executedAt !== null);
    },

    async decide(call, input, signal) {
      let approval = await store.forCall(job.id, call.id);
      if (!approval) {
        const subject = await subjectOf(await deps.mode(), call.name, input, deps.readFile);
        if (!subject) return null;
        if (subject.kind === "command" && (await store.allowed(job.projectId, subject.command))) return null;
        // What is stored is what the user sees: a call Postgres cannot keep exactly is refused, not shown altered.
        if (JSON.stringify(input, jsonbSafe) !== JSON.stringify(input)) return "refused: the input holds a NUL character or a lone surrogate, so it cannot be shown exactly for the user's approval";
        const asked = await store.request({ id: newId("apr"), jobId: job.id, projectId: job.projectId, toolUseId: call.id, tool: call.name, input, subject, timeoutMs: deps.timeoutMs });
        approval = asked.approval;
        if (asked.created) await deps.emit("approval_requested", { approvalId: approval.id, toolUseId: call.id, tool: call.name, subject, deadline: approval.deadline });
      }
      if (approval.status === "pending") {
        await deps.step("waiting_for_approval");
        approval = await waitForAnswer(approval, signal);
        if (!signal.aborted) await deps.step("generating");
      }
      if (approval.status !== "approved") return refusal(approval);
      if (await store.beginExecution(approval.id)) return null;
      return "not run: this call was approved and had already begun before the server restarted; check the state before repeating it";
    },
  };
}

/** What the host gives every job's approval gate (ai/runtime.ts). */
export interface JobApprovals {
  store: ApprovalStore;
  /** Wakes a waiting gate when an answer is appended to its job's events (in this process or, through it, another). */
  live: Pick<LiveEvents, "subscribe">;
  timeoutMs: number;
  pollMs: number;
}

/**
 * The approval gate of a running job: the mode from its project (read as its owner; when it cannot be
 * read, every call that could be asked about is: fail closed), diffs against its sandbox, events through
 * the job's ordered writer.
 */
export function jobApprovalGate(
  approvals: JobApprovals,
  ctx: JobContext,
  projects: Pick<ProjectsApi, "get">,
  auth: AuthData,
  sandbox: Pick<AgentSandbox, "readFile">,
  events: Pick<EventWriter, "event" | "drain">,
): AgentApprovals {
  return createApprovalGate({
    store: approvals.store,
    job: { id: ctx.job.id, projectId: ctx.job.projectId },
    mode: () => projects.get({ id: ctx.job.projectId }, auth).then((p) => p.approvalMode, () => "everything" as const),
    readFile: (path) => sandbox.readFile(path).catch(() => null),
    emit: (type, data) => events.event(type, data),
    step: async (step) => {
      await events.drain();
      await ctx.step(step, 20);
    },
    watch: (wake) => approvals.live.subscribe(ctx.job.id, wake),
    timeoutMs: approvals.timeoutMs,
    pollMs: approvals.pollMs,
  });
}
