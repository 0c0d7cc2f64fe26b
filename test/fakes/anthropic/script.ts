/**
 * Scripts: what the fake answers, turn by turn.
 */
import type Anthropic from "@anthropic-ai/sdk";
import type { ApiErrorDetail, RecordedRequest, WireUsage } from "./types";

/** A content block to answer with. A `tool_use` without `id` gets a fresh `toolu_…` id. */
export type ScriptedBlock =
  | { type: "text"; text: string }
  | { type: "tool_use"; name: string; input: object; id?: string };

/** The assistant answers normally: streamed if the request has `stream: true`, else as JSON. */
export interface ReplyTurn {
  content: ScriptedBlock[];
  /** Default: `tool_use` if `content` has a tool_use block, else `end_turn`. */
  stop_reason?: Anthropic.StopReason;
  /** Sent as `stop_sequence` (default null). */
  stop_sequence?: string;
  /** Overrides single counts; the rest are estimated from sizes and the prompt cache. */
  usage?: Partial<WireUsage>;
  /** Pause between socket writes of a stream, to make it slow. */
  chunkDelayMs?: number;
}

/** An HTTP error status with an API error body, before any streaming. */
export interface ErrorTurn {
  error: ApiErrorDetail & {
    status: number;
    /** Sent as the `retry-after-ms` header (keep it small: the SDK waits this long). */
    retryAfterMs?: number;
    /** Sent as `x-should-retry: true|false`, which overrides the SDK's status-based choice. */
    shouldRetry?: boolean;
  };
}

/** A stream that starts (optionally streaming `afterText`) and then sends `event: error`. Needs a streaming request. */
export interface MidStreamErrorTurn {
  midStreamError: ApiErrorDetail;
  afterText?: string;
}

/**
 * The connection is cut. `before-response`: the socket is destroyed before any byte is sent
 * (the SDK sees a connection error and may retry). `mid-stream`: the stream starts, streams
 * `afterText` if given, then the socket closes without ending the body (the SDK never retries
 * this; needs a streaming request).
 */
export interface DropTurn {
  dropConnection: "before-response" | "mid-stream";
  afterText?: string;
}

/** One scripted answer. */
export type Turn = ReplyTurn | ErrorTurn | MidStreamErrorTurn | DropTurn;

/** What a script function learns besides the request. */
export interface ScriptContext {
  /** How many times the script was asked before this call (0 for the first). */
  callIndex: number;
}

/** Computes the answer to a request, e.g. reacting to its last tool_result. Throwing fails the request with a 500. */
export type ScriptFunction = (request: RecordedRequest, ctx: ScriptContext) => Turn | Promise<Turn>;

/** Fixed turns consumed in order, or a function asked for every request. */
export type Script = readonly Turn[] | ScriptFunction;

/** A text block for a ReplyTurn. */
export function text(value: string): ScriptedBlock {
  return { type: "text", text: value };
}

/** A tool_use block for a ReplyTurn (id generated unless given). */
export function toolUse(name: string, input: object, id?: string): ScriptedBlock {
  return id === undefined ? { type: "tool_use", name, input } : { type: "tool_use", name, input, id };
}

/** A tool_result of a request, with its content flattened to text. */
export interface ToolResultView {
  toolUseId: string;
  text: string;
  isError: boolean;
}

/** The tool_result blocks of the request's last message (empty when it has none). */
export function lastToolResults(request: RecordedRequest): ToolResultView[] {
  const content = request.body?.messages.at(-1)?.content;
  if (!Array.isArray(content)) return [];
  return content.flatMap((block) =>
    block.type === "tool_result"
      ? [{ toolUseId: block.tool_use_id, text: flattenToText(block.content), isError: block.is_error === true }]
      : [],
  );
}

function flattenToText(content: Anthropic.ToolResultBlockParam["content"]): string {
  if (content === undefined || typeof content === "string") return content ?? "";
  return content.map((part) => (part.type === "text" ? part.text : "")).join("");
}

/** Thrown when the script cannot answer a request; the server turns it into a 500 and records it. */
export class ScriptError extends Error {}

/** Hands out a script's turns in order; `replace` swaps the script and starts it over. */
export class ScriptPlayer {
  #script: Script;
  #calls = 0;

  constructor(script: Script) {
    this.#script = script;
  }

  /** Swaps in a new script and resets its position. */
  replace(script: Script): void {
    this.#script = script;
    this.#calls = 0;
  }

  /** The turn for `request`; throws ScriptError when the script is exhausted, throws, or gives an unplayable turn. */
  async next(request: RecordedRequest): Promise<Turn> {
    const callIndex = this.#calls++;
    const turn = await this.#turnAt(request, callIndex);
    const streaming = request.body?.stream === true;
    if (!streaming && ("midStreamError" in turn || ("dropConnection" in turn && turn.dropConnection === "mid-stream"))) {
      throw new ScriptError(`turn ${callIndex} fails mid-stream, but request ${request.index} is not a streaming request`);
    }
    return turn;
  }

  async #turnAt(request: RecordedRequest, callIndex: number): Promise<Turn> {
    const script = this.#script;
    if (typeof script !== "function") {
      const turn = script[callIndex];
      if (turn === undefined) {
        throw new ScriptError(`script exhausted: all ${script.length} turns were used before request ${request.index}`);
      }
      return turn;
    }
    try {
      return await script(request, { callIndex });
    } catch (error) {
      throw new ScriptError(`script function failed on call ${callIndex}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
