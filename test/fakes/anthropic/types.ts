/**
 * Wire shapes the fake Anthropic server sends, and the records it keeps of each exchange.
 */
import type Anthropic from "@anthropic-ai/sdk";

/** The `error` member of an API error body: `{"type":"error","error":{type,message}}`. */
export interface ApiErrorDetail {
  type: string;
  message: string;
}

/** Token counts as the API reports them in `usage`. */
export interface WireUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
}

/** A content block of an assistant message the fake sends. */
export type WireContentBlock =
  | { type: "text"; text: string }
  | { type: "tool_use"; id: string; name: string; input: object };

/** The assistant message the fake answers with (the JSON body, or what a stream adds up to). */
export interface WireMessage {
  id: string;
  type: "message";
  role: "assistant";
  model: string;
  content: WireContentBlock[];
  stop_reason: Anthropic.StopReason;
  stop_sequence: string | null;
  usage: WireUsage;
}

/** How the fake answered one request. */
export type RecordedResponse =
  /** A message, as JSON or as a stream; `completed` is false when the client hung up before the end. */
  | { kind: "message"; status: 200; streamed: boolean; message: WireMessage; completed: boolean }
  /** An HTTP error body (auth, protocol violation, scripted error, script failure, unknown route). */
  | { kind: "error"; status: number; error: ApiErrorDetail }
  /** A stream that began and then sent `event: error`. */
  | { kind: "mid-stream-error"; status: 200; error: ApiErrorDetail }
  /** The socket was destroyed, before any response or partway through a stream. */
  | { kind: "dropped"; when: "before-response" | "mid-stream" };

/** One request as the fake received it. */
export interface RecordedRequest {
  /** Position in `FakeAnthropic.requests`, from 0. */
  index: number;
  method: string;
  /** URL path without the query, e.g. `/v1/messages`. */
  path: string;
  /** Header names lower-cased; repeated headers joined with ", ". */
  headers: Record<string, string>;
  rawBody: string;
  /**
   * The parsed JSON body, typed as the SDK's params. Undefined when it was not JSON;
   * it may not conform when the response is a 400.
   */
  body: Anthropic.MessageCreateParams | undefined;
  /** Set once the fake has finished answering. */
  response?: RecordedResponse;
}
