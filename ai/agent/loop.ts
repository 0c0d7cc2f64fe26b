import type Anthropic from "@anthropic-ai/sdk";
import { inSpan } from "../../lib/tracing";
import type { GenerationEventData, TokenUsage } from "../contract";
import { LoopGuard, type LoopGuardLimits } from "./loop-guard";
import { capText, ToolInputError, validateInput, type Tool } from "./tool";

type MessageParam = Anthropic.MessageParam;
type ContentBlock = Anthropic.ContentBlock;
type ToolResultBlock = Anthropic.ToolResultBlockParam;

type AgentEventType = "text" | "tool_started" | "tool_finished" | "usage" | "compacted" | "loop_guard";

/** Something the agent did, as it happened: the job's event of the same type (see GenerationEventData), flat. */
export type AgentEvent = { [K in AgentEventType]: { type: K } & GenerationEventData[K] }[AgentEventType];

/** Why a run ended. */
export type AgentEnd =
  | "completed"
  | "end_turn"
  | "max_turns"
  | "token_budget"
  | "timeout"
  | "cancelled"
  | "refusal"
  | "api_error"
  /** The model API refused the server itself (its key, permissions, model or account): no prompt can fix it. */
  | "misconfigured"
  /** The completion gate gave up: the app still fails its checks. */
  | "checks_failed"
  /** The loop guard stopped a model repeating the same failing call. */
  | "repeated_failure";

/** The outcome of a run, with the conversation so far (so a follow-up can continue it). */
export interface AgentOutcome {
  end: AgentEnd;
  /** `attempt_completion`'s summary, or what went wrong, in words a person understands. */
  summary: string;
  turns: number;
  usage: TokenUsage;
  messages: MessageParam[];
}

/** The limits a run works under; each ends the run with its own reason. */
export interface AgentLimits {
  maxTurns: number;
  maxOutputTokens: number;
  /** Input + output tokens over the whole run. */
  tokenBudget: number;
  wallClockMs: number;
  /** Largest tool output sent back to the model, in characters (head and tail kept). */
  maxToolOutputChars: number;
  /** When the conversation grows past this (estimated) size, older tool outputs are compacted (then again only after it grew by half of it). */
  compactAboveTokens: number;
  /** Identical failing tool calls: when the model is warned, and when the run stops. */
  loopGuard: LoopGuardLimits;
}

/** Messages at the end of the conversation that compaction never touches. */
const KEEP_RECENT_MESSAGES = 6;

/** A rough token count: about four characters a token. */
export function estimateTokens(messages: MessageParam[]): number {
  return Math.ceil(JSON.stringify(messages).length / 4);
}

/**
 * Replaces the content of tool results older than the newest `keep` messages (and longer than
 * `minChars`) with a note of their size (done rarely and in one sweep, since it changes the cached
 * prefix). Returns characters saved.
 */
export function compactToolResults(messages: MessageParam[], keep: number, minChars = 0): number {
  let saved = 0;
  for (const message of messages.slice(0, Math.max(0, messages.length - keep))) {
    if (message.role !== "user" || typeof message.content === "string") continue;
    message.content = message.content.map((block) => {
      if (block.type !== "tool_result" || typeof block.content !== "string" || block.content.length <= minChars || block.content.startsWith("[compacted")) return block;
      saved += block.content.length;
      return { ...block, content: `[compacted: ${block.content.length} characters of earlier output omitted]` };
    });
  }
  return saved;
}

/** Everything one run needs. */
export interface AgentRun {
  client: Anthropic;
  model: string;
  /** The system prompt's blocks (see `systemPrompt`): the static guide first, this run's context last. */
  system: Anthropic.TextBlockParam[];
  tools: Tool[];
  /** Earlier turns of the project's conversation. */
  history: MessageParam[];
  prompt: string;
  limits: AgentLimits;
  signal: AbortSignal;
  onEvent(event: AgentEvent): void;
  /** A conversation saved by an earlier attempt of this job: continued instead of `history` and `prompt`. */
  resume?: AgentProgress;
  /** Told to the model when a resumed run continues (what the restart changed, such as its background processes). */
  resumeNote?: string;
  /** Tokens earlier attempts of this job used: the token budget counts them too. */
  usedBefore?: TokenUsage;
  /** Saves the conversation so far; awaited, so a tool runs only once the call asking for it is saved. */
  checkpoint?(progress: AgentProgress): Promise<void>;
  /** Asks the user before a tool call runs (approval mode); absent: every call runs. */
  approvals?: AgentApprovals;
}

/** The user's say over tool calls before they run. */
export interface AgentApprovals {
  /**
   * Null when the call may run now, else the result the model gets instead (a denial). Waits as long as
   * the user may take (that time is not counted against the run's time limit); throws when the run must
   * stop leaving the call undecided (another runner takes it over and asks again).
   */
  decide(call: { id: string; name: string }, input: Record<string, unknown>, signal: AbortSignal): Promise<string | null>;
  /** Whether a call a resumed run finds unanswered is one still to decide (not one that was running): it is decided, not answered as interrupted. */
  undecided(toolUseId: string): Promise<boolean>;
}

/** The run's time limit, with time spent waiting for the user's decisions left out. */
class RunClock {
  private readonly controller = new AbortController();
  private deadline: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(limitMs: number) {
    this.deadline = Date.now() + limitMs;
    this.arm();
  }

  /** Aborted when the limit is reached. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  remainingMs(): number {
    return this.deadline - Date.now();
  }

  /** Stops the clock until the returned function is called: the time between does not count. */
  pause(): () => void {
    clearTimeout(this.timer);
    const from = Date.now();
    return () => {
      this.deadline += Date.now() - from;
      this.arm();
    };
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  private arm(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.controller.abort(new Error("time limit")), Math.max(0, this.remainingMs()));
    this.timer.unref();
  }
}

/** Where a run stands: what a resumed run continues from. */
export interface AgentProgress {
  messages: MessageParam[];
  /** Model turns taken, over every attempt (the turn limit counts them all). */
  turns: number;
  /** Sweeps of compaction done so far. */
  compactions: number;
}

/** What a tool call in flight when the server died is answered with: it is never run again. */
export const INTERRUPTED_TOOL_CALL = "interrupted: the server restarted while this ran; check the state before repeating it";

/**
 * Answers, as interrupted, every tool call of the last assistant turn that has no result yet (the run
 * was saved while they ran), so a resumed conversation is valid and no call is silently repeated.
 * Returns the calls so answered.
 */
export function answerInterrupted(messages: MessageParam[], answer = INTERRUPTED_TOOL_CALL): Anthropic.ToolUseBlockParam[] {
  let at = messages.length - 1;
  while (at >= 0 && messages[at]!.role !== "assistant") at--;
  const assistant = messages[at];
  if (!assistant || typeof assistant.content === "string") return [];
  const calls = assistant.content.flatMap((b) => (b.type === "tool_use" ? [b] : []));
  if (calls.length === 0) return [];
  const reply = messages[at + 1] ?? { role: "user", content: [] };
  if (typeof reply.content === "string") return [];
  const answered = new Set(reply.content.flatMap((b) => (b.type === "tool_result" ? [b.tool_use_id] : [])));
  const missing = calls.filter((call) => !answered.has(call.id));
  messages[at + 1] = { role: "user", content: [...reply.content, ...missing.map((call): ToolResultBlock => ({ type: "tool_result", tool_use_id: call.id, content: answer, is_error: true }))] };
  return missing;
}

const CACHE = { type: "ephemeral" } as const;
const TRUNCATED_TOOL_CALL =
  "Your last response hit the output token limit, so its tool call was cut off and not run. Split large files: write a first part with write_to_file, then add the rest with replace_in_file, and keep each response short.";

/** The request's messages with a cache breakpoint on the newest block, so the growing prefix is cached. */
function withCachedPrefix(messages: MessageParam[]): MessageParam[] {
  const last = messages[messages.length - 1];
  if (!last) return messages;
  const blocks = typeof last.content === "string" ? [{ type: "text" as const, text: last.content }] : [...last.content];
  const tail = blocks[blocks.length - 1];
  if (!tail) return messages;
  blocks[blocks.length - 1] = { ...tail, cache_control: CACHE } as typeof tail;
  return [...messages.slice(0, -1), { ...last, content: blocks } as MessageParam];
}

/**
 * The system blocks with a cache breakpoint on the first (the guide every run shares) and on the last
 * (the prefix through this run's context), none on blocks between. With the tools' and the newest
 * message's that makes at most four, Anthropic's limit per request.
 */
function withCachedSystem(blocks: Anthropic.TextBlockParam[]): Anthropic.TextBlockParam[] {
  return blocks.map(({ cache_control: _, ...block }, i) => (i === 0 || i === blocks.length - 1 ? { ...block, cache_control: CACHE } : block));
}

/**
 * The agent loop: call Claude (streaming), run the tools it asks for, send their results back, and
 * repeat until `attempt_completion` is accepted, the model ends its turn, or a limit is hit.
 */
export async function runAgent(run: AgentRun): Promise<AgentOutcome> {
  const { client, limits, signal, onEvent } = run;
  const tools = new Map(run.tools.map((t) => [t.name, t]));
  const toolParams: Anthropic.Tool[] = run.tools.map((t, i) => ({
    name: t.name,
    description: t.description,
    input_schema: t.inputSchema as Anthropic.Tool.InputSchema,
    ...(i === run.tools.length - 1 ? { cache_control: CACHE } : {}),
  }));
  const messages: MessageParam[] = run.resume ? structuredClone(run.resume.messages) : [...run.history, { role: "user", content: run.prompt }];
  const undecided = run.resume ? await undecidedCalls(messages, run.approvals) : null;
  for (const call of run.resume && !undecided ? answerInterrupted(messages) : []) {
    onEvent({ type: "tool_finished", id: call.id, name: call.name, input: call.input, ok: false, output: INTERRUPTED_TOOL_CALL, durationMs: 0 });
  }
  const usage: TokenUsage = { ...(run.usedBefore ?? { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 }) };
  const guard = new LoopGuard(limits.loopGuard);
  let turns = run.resume?.turns ?? 0;
  let compactions = run.resume?.compactions ?? 0;
  let compactAt = limits.compactAboveTokens;
  const save = async (pending?: MessageParam) => run.checkpoint?.({ messages: pending ? [...messages, pending] : messages, turns, compactions });
  // One deadline and one combined signal for the whole run: a new pair per turn would pile listeners on `signal`.
  const clock = new RunClock(limits.wallClockMs);
  const streamSignal = AbortSignal.any([signal, clock.signal]);
  const end = (reason: AgentEnd, summary: string): AgentOutcome => {
    clock.stop();
    return { end: reason, summary, turns, usage, messages };
  };
  /** Runs a turn's calls (all of them, or those a resumed run had still to decide after `done`) and records their results. */
  const toolTurn = async (calls: Anthropic.ToolUseBlock[], done: ToolResultBlock[] = []): Promise<AgentOutcome | null> => {
    const { results, completed, failed, stopped } = await runTools(calls, tools, run, guard, clock, (now) => save({ role: "user", content: [...done, ...now] }));
    messages.push({ role: "user", content: [...done, ...results] });
    if (completed) return end("completed", completed.summary);
    if (failed) return end("checks_failed", failed.reason);
    if (stopped) return end("repeated_failure", stopped);
    return null;
  };
  if (undecided) {
    const ended = await toolTurn(undecided.calls, undecided.done);
    if (ended) return ended;
  }
  if (run.resume && run.resumeNote) appendNote(messages, run.resumeNote);

  for (;;) {
    if (signal.aborted) return end("cancelled", "the run was cancelled");
    if (turns >= limits.maxTurns) return end("max_turns", `stopped after ${limits.maxTurns} model turns (the turn limit)`);
    if (clock.remainingMs() <= 0) return end("timeout", `stopped after ${Math.round(limits.wallClockMs / 1000)} s (the time limit)`);
    turns++;
    if (estimateTokens(messages) > compactAt) {
      const savedChars = compactToolResults(messages, KEEP_RECENT_MESSAGES);
      // Each sweep rewrites the cached prefix: the next waits until the conversation has grown by half the threshold again.
      compactAt = Math.max(limits.compactAboveTokens, estimateTokens(messages) + limits.compactAboveTokens / 2);
      if (savedChars > 0) {
        compactions++;
        onEvent({ type: "compacted", savedChars });
      }
    }
    await save();

    let message: Anthropic.Message;
    try {
      message = await inSpan("model.call", { "gen_ai.request.model": run.model, "kiln.turn": turns }, async (span) => {
        const stream = client.messages.stream(
          {
            model: run.model,
            max_tokens: limits.maxOutputTokens,
            system: withCachedSystem(run.system),
            tools: toolParams,
            messages: withCachedPrefix(messages),
          },
          { signal: streamSignal },
        );
        stream.on("text", (text) => onEvent({ type: "text", text }));
        stream.on("streamEvent", (event) => {
          if (event.type === "content_block_start" && event.content_block.type === "tool_use") {
            onEvent({ type: "tool_started", id: event.content_block.id, name: event.content_block.name });
          }
        });
        const final = await stream.finalMessage();
        span.setAttributes({
          "gen_ai.usage.input_tokens": final.usage.input_tokens,
          "gen_ai.usage.output_tokens": final.usage.output_tokens,
          "kiln.cache_read_tokens": final.usage.cache_read_input_tokens ?? 0,
          "kiln.cache_write_tokens": final.usage.cache_creation_input_tokens ?? 0,
          "kiln.stop_reason": final.stop_reason ?? "",
        });
        return final;
      });
    } catch (err) {
      if (signal.aborted) return end("cancelled", "the run was cancelled");
      if (clock.signal.aborted) return end("timeout", `stopped after ${Math.round(limits.wallClockMs / 1000)} s (the time limit)`);
      return end(refusesServer(err) ? "misconfigured" : "api_error", describeApiError(err));
    }

    const used = message.usage;
    usage.inputTokens += used.input_tokens;
    usage.outputTokens += used.output_tokens;
    usage.cacheReadTokens += used.cache_read_input_tokens ?? 0;
    usage.cacheWriteTokens += used.cache_creation_input_tokens ?? 0;
    onEvent({ type: "usage", inputTokens: used.input_tokens, outputTokens: used.output_tokens, cacheReadTokens: used.cache_read_input_tokens ?? 0, cacheWriteTokens: used.cache_creation_input_tokens ?? 0 });

    const toolCalls = message.content.filter((b): b is Anthropic.ToolUseBlock => b.type === "tool_use");
    switch (message.stop_reason) {
      case "refusal":
        messages.push({ role: "assistant", content: nonEmpty(message.content) });
        return end("refusal", "the model declined to continue with this request");
      case "pause_turn":
        messages.push({ role: "assistant", content: nonEmpty(message.content) });
        continue;
      case "max_tokens": {
        const kept = message.content.filter((b) => b.type !== "tool_use");
        messages.push({ role: "assistant", content: nonEmpty(kept) });
        messages.push({ role: "user", content: toolCalls.length > 0 ? TRUNCATED_TOOL_CALL : "Continue exactly where you stopped." });
        break;
      }
      case "tool_use": {
        messages.push({ role: "assistant", content: message.content });
        await save();
        const ended = await toolTurn(toolCalls);
        if (ended) return ended;
        break;
      }
      default:
        messages.push({ role: "assistant", content: nonEmpty(message.content) });
        return end("end_turn", `the agent stopped without finishing: ${textOf(message.content) || "it ended its turn without calling attempt_completion"}`);
    }
    if (usage.inputTokens + usage.outputTokens >= limits.tokenBudget) {
      return end("token_budget", `stopped after using ${usage.inputTokens + usage.outputTokens} tokens (the budget is ${limits.tokenBudget})`);
    }
  }
}

/**
 * The unanswered calls of a saved conversation's last turn when the first of them is still to be decided
 * by the user (the run was waiting for an answer, or the answer came while no runner ran), with the
 * results before them; the partial results are taken off the conversation (they are put back with the
 * rest). Null otherwise: the calls were running, and are answered as interrupted.
 */
async function undecidedCalls(messages: MessageParam[], approvals: AgentApprovals | undefined): Promise<{ calls: Anthropic.ToolUseBlock[]; done: ToolResultBlock[] } | null> {
  let at = messages.length - 1;
  while (at >= 0 && messages[at]!.role !== "assistant") at--;
  const assistant = messages[at];
  if (!approvals || !assistant || typeof assistant.content === "string") return null;
  const reply = messages[at + 1]?.content ?? [];
  if (typeof reply === "string") return null;
  const done = reply.filter((b) => b.type === "tool_result") as ToolResultBlock[];
  const answered = new Set(done.map((b) => b.tool_use_id));
  const calls = assistant.content.filter((b) => b.type === "tool_use" && !answered.has(b.id)) as Anthropic.ToolUseBlock[];
  if (calls.length === 0 || !(await approvals.undecided(calls[0]!.id))) return null;
  messages.length = at + 1;
  return { calls, done };
}

/** Adds `note` at the end of the conversation, after the tool results of its last user message. */
function appendNote(messages: MessageParam[], note: string): void {
  const last = messages[messages.length - 1];
  if (last?.role !== "user") messages.push({ role: "user", content: note });
  else last.content = typeof last.content === "string" ? `${last.content}\n\n${note}` : [...last.content, { type: "text", text: note }];
}

/** The user's decision on a call before it runs (null: run it); input the tool refuses is not asked about. */
async function decided(run: AgentRun, call: Anthropic.ToolUseBlock, tool: Tool, clock: RunClock): Promise<string | null> {
  if (!run.approvals) return null;
  let input: Record<string, unknown>;
  try {
    input = validateInput(tool.inputSchema, call.input);
  } catch {
    return null;
  }
  const resume = clock.pause();
  try {
    return await run.approvals.decide(call, input, run.signal);
  } finally {
    resume();
  }
}

/** Runs a turn's tool calls in order; `saved` is awaited with the results so far after each. */
async function runTools(calls: Anthropic.ToolUseBlock[], tools: Map<string, Tool>, run: AgentRun, guard: LoopGuard, clock: RunClock, saved: (results: ToolResultBlock[]) => Promise<void>) {
  const results: ToolResultBlock[] = [];
  let completed: { summary: string } | undefined;
  let failed: { reason: string } | undefined;
  let stopped: string | undefined;
  for (const call of calls) {
    const startedAt = Date.now();
    let content: string;
    let isError = false;
    const tool = tools.get(call.name);
    const refused = tool && !run.signal.aborted && !stopped ? await decided(run, call, tool, clock) : null;
    if (run.signal.aborted) {
      content = "not run: the run was cancelled";
      isError = true;
    } else if (stopped) {
      content = "not run: the run was stopped";
      isError = true;
    } else if (!tool) {
      content = `unknown tool ${JSON.stringify(call.name)}; the tools are: ${[...tools.keys()].join(", ")}`;
      isError = true;
    } else if (refused !== null) {
      content = refused;
      isError = true;
    } else {
      let ran: { completed?: { summary: string }; failed?: { reason: string } } = {};
      ({ content, isError } = await inSpan(`tool ${call.name}`, { "kiln.tool": call.name }, async (span) => {
        let result: { content: string; isError: boolean };
        try {
          const output = await untilAborted(tool.run(validateInput(tool.inputSchema, call.input), run.signal), run.signal);
          ran = output;
          result = { content: output.content, isError: output.isError === true };
        } catch (err) {
          const message = err instanceof ToolInputError ? `invalid input: ${err.message}` : `${call.name} failed: ${err instanceof Error ? err.message : String(err)}`;
          result = { content: message, isError: true };
        }
        span.setAttributes({ "kiln.tool.ok": !result.isError, "kiln.tool.output_chars": result.content.length });
        return result;
      }));
      completed ??= ran.completed;
      failed ??= ran.failed;
      const verdict = guard.observe(call.name, call.input, !isError, content);
      if (verdict.action !== "none") {
        run.onEvent({ type: "loop_guard", action: verdict.action, tool: call.name, repeats: verdict.repeats, message: verdict.message });
        if (verdict.action === "stop") stopped = verdict.message;
        else content = `${content}\n\n${verdict.message}`;
      }
    }
    const capped = capText(content, run.limits.maxToolOutputChars);
    run.onEvent({ type: "tool_finished", id: call.id, name: call.name, input: call.input, ok: !isError, output: capped, durationMs: Date.now() - startedAt });
    results.push({ type: "tool_result", tool_use_id: call.id, content: capped, ...(isError ? { is_error: true } : {}) });
    await saved([...results]);
  }
  return { results, completed, failed, stopped };
}

/** The tool's result, or a cancellation as soon as the run is cancelled (the tool is told through the signal). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new Error("cancelled"));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error("cancelled"));
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

function textOf(content: ContentBlock[]): string {
  return content
    .filter((b): b is Anthropic.TextBlock => b.type === "text")
    .map((b) => b.text)
    .join("")
    .trim();
}

/** Assistant content sent back must not be empty: an empty turn becomes a short placeholder text. */
function nonEmpty(content: ContentBlock[]): Anthropic.ContentBlockParam[] {
  const blocks = content.filter((b) => b.type !== "text" || b.text.length > 0);
  return blocks.length > 0 ? (blocks as Anthropic.ContentBlockParam[]) : [{ type: "text", text: "(no output)" }];
}

/** A model API error's status, type and message, as the SDK gives them. */
function apiErrorParts(err: unknown): { status: number | undefined; type: string | undefined; message: string } {
  const e = err as { status?: number; type?: string; error?: { error?: { type?: string; message?: string } }; message?: string };
  return { status: e.status, type: e.error?.error?.type ?? e.type, message: e.error?.error?.message ?? e.message ?? String(err) };
}

function describeApiError(err: unknown): string {
  const { status, type, message } = apiErrorParts(err);
  return `the model API failed${status ? ` (${status}${type ? ` ${type}` : ""})` : type ? ` (${type})` : ""}: ${message}`;
}

/**
 * Whether the model API refused the server rather than the request: its API key (401), its key's
 * permissions (403), its model (404: the Messages API's only one), its account's billing (402, or a
 * credit balance too low). Whoever runs the server must fix these; a retry or another prompt cannot.
 */
function refusesServer(err: unknown): boolean {
  const { status, type, message } = apiErrorParts(err);
  if (status === 401 || status === 402 || status === 403 || (status === 404 && type === "not_found_error")) return true;
  if (type === "authentication_error" || type === "permission_error" || type === "billing_error") return true;
  return status === 400 && /credit balance is too low/i.test(message);
}
