import { formatDiagnostic, type CheckKind, type Diagnostic, type FailureKind, type TokenUsage, type ToolName } from "../../../ai/contract";
import type { GenerationEvent } from "../api/client";

/** A tool call as the job view shows it. */
export interface ToolCallView {
  id: string;
  name: string;
  state: "running" | "ok" | "error";
  input?: unknown;
  output?: string;
  durationMs?: number;
}

/** What the job view lists, in the order it happened. */
export type TimelineItem =
  | { kind: "text"; key: string; text: string }
  | { kind: "tool"; key: string; call: ToolCallView }
  | { kind: "note"; key: string; text: string; tone: "info" | "warn" };

export type FinalState =
  | { type: "completed"; summary: string | null; previewUrl: string | null }
  | { type: "failed"; error: string | null; errorKind: FailureKind | null }
  | { type: "cancelled"; error: string | null };

/** Where the job's app can be seen: from `preview_ready` (while the agent works) or the completion. */
export interface JobPreview {
  url: string;
  /** The signed link's token where the provider signs previews, else null. */
  token: string | null;
}

/** Why the app's dev server does not answer, as the job reported it. */
export interface DevServerProblem {
  problem: string;
  logTail: string;
}

/** One check of the latest round, as the job card shows it: running, passed, or its errors. */
export interface CheckView {
  kind: CheckKind;
  target: string;
  state: "running" | "ok" | "failed";
  errors: Diagnostic[];
  durationMs?: number;
}

/** A generation folded from its events (the same events give the same state, replayed or live). */
export interface JobState {
  lastSeq: number;
  step: string | null;
  /** 0–100, never backwards: the server's steps, and between them the agent's work (turns, tool calls, checks). */
  progress: number;
  /** When the first event and the final one happened (the elapsed time between them). */
  startedAt: string | null;
  endedAt: string | null;
  /** The model's turns so far (one usage event each) and the tool calls that finished. */
  turns: number;
  toolCalls: number;
  steps: { step: string; progress: number; at: string }[];
  items: TimelineItem[];
  usage: TokenUsage;
  /** The latest preview the job announced; null until its dev server answers. */
  preview: JobPreview | null;
  /** Set when the dev server did not answer, cleared by a later preview. */
  devServer: DevServerProblem | null;
  /** The latest round of the app's checks (a new round starts when a check kind starts again). */
  checks: CheckView[];
  /** How many rounds of checks ran (each completion attempt or check_app is one). */
  checkRounds: number;
  /** The content hash of the project's thumbnail, once this job took one. */
  thumbnail: string | null;
  final: FinalState | null;
}

export const EMPTY_USAGE: TokenUsage = { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 };

export const initialJobState: JobState = {
  lastSeq: 0,
  step: null,
  progress: 0,
  startedAt: null,
  endedAt: null,
  turns: 0,
  toolCalls: 0,
  steps: [],
  items: [],
  usage: EMPTY_USAGE,
  preview: null,
  devServer: null,
  checks: [],
  checkRounds: 0,
  thumbnail: null,
  final: null,
};

/** What a person reads for each check. */
export const CHECK_LABELS: Record<CheckKind, string> = {
  typecheck: "Types",
  build: "Build",
  lint: "Lint",
  dev_server: "Dev server",
  browser: "In the browser",
};

/** What a person reads for each step of the pipeline. */
export const STEP_LABELS: Record<string, string> = {
  queued: "Queued",
  preparing_workspace: "Preparing the sandbox",
  waiting_for_workspace: "Waiting for the sandbox",
  generating: "Building your app",
  completing: "Starting the preview",
  done: "Done",
  cancelled: "Cancelled",
};

/**
 * The steps' progress is the server's (preparing 5, generating 20, completing 90); each unit of the
 * agent's work in between moves the bar a tenth of the way to the next step's, so it keeps moving
 * without ever reaching a step it has not reached.
 */
const WORK_CEILING: Record<string, number> = { generating: 88, completing: 99 };

function worked(state: JobState): JobState {
  const ceiling = state.step === null ? undefined : WORK_CEILING[state.step];
  if (ceiling === undefined || state.progress >= ceiling) return state;
  return { ...state, progress: state.progress + (ceiling - state.progress) * 0.1 };
}

/** The follow-up "Try to fix" pre-fills: the error and the failed checks' first findings. */
export function fixPrompt(state: JobState, error: string | null): string {
  const findings = state.checks.filter((c) => c.state === "failed").flatMap((c) => (c.errors.length ? c.errors.slice(0, 5).map((e) => `- ${CHECK_LABELS[c.kind]}: ${formatDiagnostic(e)}`) : [`- ${CHECK_LABELS[c.kind]} failed`]));
  const parts = ["The last generation stopped. Please fix what went wrong and finish the app."];
  if (error) parts.push(`The error: ${error}`);
  if (findings.length) parts.push(`The checks found:\n${findings.join("\n")}`);
  return parts.join("\n\n");
}

export function stepLabel(step: string | null): string {
  if (!step) return "Starting";
  return STEP_LABELS[step] ?? step.replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());
}

function note(state: JobState, seq: number, text: string, tone: "info" | "warn" = "info"): TimelineItem[] {
  return [...state.items, { kind: "note", key: `n${seq}`, text, tone }];
}

/** Applies one event; events at or before `lastSeq` (a replay after reconnecting) change nothing. */
export function applyEvent(state: JobState, event: GenerationEvent): JobState {
  if (event.seq <= state.lastSeq) return state;
  const next: JobState = { ...state, lastSeq: event.seq, startedAt: state.startedAt ?? event.at };
  switch (event.type) {
    case "queued":
      return { ...next, step: next.step ?? "queued", steps: next.steps.length ? next.steps : [{ step: "queued", progress: 0, at: event.at }] };
    case "step": {
      const progress = Math.max(next.progress, Number(event.data.progress) || 0);
      return { ...next, step: event.data.step, progress, steps: [...next.steps, { step: event.data.step, progress, at: event.at }] };
    }
    case "text": {
      const last = next.items[next.items.length - 1];
      if (last?.kind === "text") return { ...next, items: [...next.items.slice(0, -1), { ...last, text: last.text + event.data.text }] };
      return { ...next, items: [...next.items, { kind: "text", key: `t${event.seq}`, text: event.data.text }] };
    }
    case "tool_started":
      return { ...next, items: [...next.items, { kind: "tool", key: `c${event.data.id}`, call: { id: event.data.id, name: event.data.name, state: "running" } }] };
    case "tool_finished": {
      const { id, name, input, ok, output, durationMs } = event.data;
      const call: ToolCallView = { id, name, input, output, durationMs, state: ok ? "ok" : "error" };
      const index = next.items.findIndex((item) => item.kind === "tool" && item.call.id === id);
      if (index === -1) return worked({ ...next, items: [...next.items, { kind: "tool", key: `c${id}`, call }], toolCalls: next.toolCalls + 1 });
      const items = [...next.items];
      items[index] = { kind: "tool", key: `c${id}`, call };
      return worked({ ...next, items, toolCalls: next.toolCalls + 1 });
    }
    case "usage": {
      const u = event.data;
      const usage = {
        inputTokens: next.usage.inputTokens + (u.inputTokens ?? 0),
        outputTokens: next.usage.outputTokens + (u.outputTokens ?? 0),
        cacheReadTokens: next.usage.cacheReadTokens + (u.cacheReadTokens ?? 0),
        cacheWriteTokens: next.usage.cacheWriteTokens + (u.cacheWriteTokens ?? 0),
      };
      return worked({ ...next, usage, turns: next.turns + 1 });
    }
    case "workspace": {
      const d = event.data;
      if (d.action === "dev_server_not_answering") {
        const problem = d.problem ?? "the dev server did not answer";
        return { ...next, devServer: { problem, logTail: d.logTail ?? "" }, items: note(next, event.seq, `The app's dev server does not answer: ${problem}`, "warn") };
      }
      const text =
        d.action === "starting"
          ? `Starting the project's sandbox (it was ${d.status ?? "stopped"})`
          : d.action === "recreating"
            ? `Re-creating the sandbox: ${d.reason ?? "it is gone"}`
            : d.action === "restoring"
              ? "Restoring the archived sandbox — this can take minutes"
              : `Sandbox: ${(d as { action: string }).action}`;
      return { ...next, items: note(next, event.seq, text) };
    }
    case "check_started": {
      const fresh = next.checks.length === 0 || next.checks.some((c) => c.kind === event.data.kind && c.state !== "running");
      const round = fresh ? [] : next.checks.filter((c) => c.kind !== event.data.kind);
      return { ...next, checkRounds: next.checkRounds + (fresh ? 1 : 0), checks: [...round, { kind: event.data.kind, target: event.data.target, state: "running", errors: [] }] };
    }
    case "check_finished": {
      const done: CheckView = { kind: event.data.kind, target: event.data.target, state: event.data.ok ? "ok" : "failed", errors: event.data.errors ?? [], durationMs: event.data.durationMs };
      const index = next.checks.findIndex((c) => c.kind === done.kind);
      return worked({ ...next, checks: index === -1 ? [...next.checks, done] : next.checks.map((c, i) => (i === index ? done : c)) });
    }
    case "loop_guard":
      return {
        ...next,
        items: note(next, event.seq, event.data.action === "stop" ? `Stopped: the agent repeated a failing ${event.data.tool} ${event.data.repeats} times` : `The agent repeated a failing ${event.data.tool} ${event.data.repeats} times and was told to change approach`, "warn"),
      };
    case "thumbnail":
      return { ...next, thumbnail: event.data.sha256 };
    case "preview_ready":
      return { ...next, preview: { url: event.data.url, token: event.data.token ?? null }, devServer: null, items: note(next, event.seq, "The preview is up: edits appear in it as the agent saves them") };
    case "restored":
      return { ...next, items: note(next, event.seq, `Restored ${event.data.files} file${event.data.files === 1 ? "" : "s"} from the latest snapshot`) };
    case "resumed": {
      // A call still running when its server died never finishes there: the resumed job answers it as interrupted, or the model never saw it.
      const items = next.items.map((item) => (item.kind === "tool" && item.call.state === "running" ? { ...item, call: { ...item.call, state: "error" as const, output: "interrupted: the server restarted" } } : item));
      return { ...next, items: note({ ...next, items }, event.seq, `The server restarted; picking the job up again (attempt ${event.data.attempt})`, "warn") };
    }
    case "compacted":
      return { ...next, items: note(next, event.seq, "Older tool output was shortened to keep the conversation within the model's context") };
    case "completed": {
      const previewUrl = event.data.previewUrl ?? null;
      const preview = previewUrl === null ? next.preview : { url: previewUrl, token: previewUrl === next.preview?.url ? next.preview.token : null };
      return { ...next, progress: 100, step: "done", endedAt: event.at, preview, devServer: previewUrl === null ? next.devServer : null, final: { type: "completed", summary: event.data.summary ?? null, previewUrl } };
    }
    case "failed":
      return { ...next, endedAt: event.at, final: { type: "failed", error: event.data.error ?? null, errorKind: event.data.errorKind ?? null } };
    case "cancelled": {
      // The runner says "completing" on its way out of a cancelled job: no preview is being started.
      const steps = next.steps.at(-1)?.step === "completing" ? next.steps.slice(0, -1) : next.steps;
      return { ...next, step: "cancelled", steps, endedAt: event.at, final: { type: "cancelled", error: event.data.error ?? null } };
    }
    default:
      return next;
  }
}

/** A one-line summary of a tool call's input, for its card. */
export function shortInput(name: string, input: unknown): string {
  if (!input || typeof input !== "object") return "";
  const i = input as Record<string, unknown>;
  const pick =
    name === "execute_command" ? i.command : name === "attempt_completion" ? (i.dev_command ?? i.summary) : name === "search_files" ? i.pattern : (i.path ?? Object.values(i).find((v) => typeof v === "string"));
  const text = typeof pick === "string" ? pick : pick === undefined ? "" : JSON.stringify(pick);
  const line = text.split("\n")[0]!;
  return line.length > 90 ? `${line.slice(0, 87)}…` : line;
}

const TOOL_LABELS: Record<ToolName, string> = {
  write_to_file: "Write file",
  read_file: "Read file",
  replace_in_file: "Edit file",
  list_files: "List files",
  search_files: "Search",
  execute_command: "Run command",
  check_app: "Check the app",
  attempt_completion: "Finish & preview",
};

export function toolLabel(name: string): string {
  return TOOL_LABELS[name as ToolName] ?? name;
}
