/**
 * Playing one scripted turn onto an HTTP response.
 */
import type { ServerResponse } from "node:http";
import type Anthropic from "@anthropic-ai/sdk";
import type { Random } from "./chunking";
import { buildMessage, type MessageSpec } from "./message";
import { sendApiError, sendJson } from "./respond";
import type { ErrorTurn, Turn } from "./script";
import { encodeSse, startSse, writeInPieces, type SseEvent } from "./sse";
import { completeStreamEvents, interruptedStreamEvents } from "./stream-events";
import type { RecordedResponse, WireMessage } from "./types";
import type { PromptCache } from "./usage";

/** What playing a turn needs besides the turn. */
export interface PlayContext {
  res: ServerResponse;
  /** The validated request body. */
  body: Anthropic.MessageCreateParams;
  cache: PromptCache;
  random: Random;
}

/** Answers with `turn` and returns what was sent. */
export async function playTurn(turn: Turn, ctx: PlayContext): Promise<RecordedResponse> {
  const { res, random } = ctx;
  if ("error" in turn) {
    const { status, type, message } = turn.error;
    return sendApiError(res, status, { type, message }, retryHeaders(turn.error));
  }
  if ("dropConnection" in turn) {
    if (turn.dropConnection === "before-response") {
      res.destroy();
    } else {
      await streamInterrupted(ctx, turn.afterText, []);
      res.socket?.end(); // closes the socket once what was written is flushed, without ending the HTTP body
    }
    return { kind: "dropped", when: turn.dropConnection };
  }
  if ("midStreamError" in turn) {
    const error = turn.midStreamError;
    await streamInterrupted(ctx, turn.afterText, [{ event: "error", data: { type: "error", error } }]);
    res.end();
    return { kind: "mid-stream-error", status: 200, error };
  }
  const message = messageFor(turn, ctx);
  if (ctx.body.stream !== true) {
    sendJson(res, 200, message);
    return { kind: "message", status: 200, streamed: false, message, completed: true };
  }
  startSse(res);
  const completed = await writeInPieces(res, encodeSse(completeStreamEvents(message, random)), random, turn.chunkDelayMs);
  res.end();
  return { kind: "message", status: 200, streamed: true, message, completed };
}

function retryHeaders({ retryAfterMs, shouldRetry }: ErrorTurn["error"]): Record<string, string> {
  return {
    ...(retryAfterMs === undefined ? {} : { "retry-after-ms": String(retryAfterMs) }),
    ...(shouldRetry === undefined ? {} : { "x-should-retry": String(shouldRetry) }),
  };
}

/** Starts a stream, streams `afterText` (if any) without finishing its block, then sends `tail`. */
async function streamInterrupted(ctx: PlayContext, afterText: string | undefined, tail: SseEvent[]): Promise<void> {
  const partial = messageFor({ content: afterText ? [{ type: "text", text: afterText }] : [] }, ctx);
  startSse(ctx.res);
  await writeInPieces(ctx.res, encodeSse([...interruptedStreamEvents(partial, ctx.random), ...tail]), ctx.random);
}

function messageFor(spec: MessageSpec, { body, cache }: PlayContext): WireMessage {
  return buildMessage(spec, body.model, cache.inputUsage(body));
}
