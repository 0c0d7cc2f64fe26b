/**
 * Server-Sent Events over fetch (EventSource cannot send an Authorization header): parses frames,
 * remembers the last event id, and after a dropped connection reconnects with backoff, sending
 * `Last-Event-ID` so the server replays exactly what was missed. Stops after a final event.
 */
import { FINAL_EVENT_TYPES, type GenerationEvent } from "../../../ai/contract";
import { ApiError, errorFromResponse, networkError } from "./errors";

export type { GenerationEvent, GenerationEventType, WorkspaceEventData } from "../../../ai/contract";
export { FINAL_EVENT_TYPES };

/** One raw SSE frame. */
export interface SseFrame {
  id: string | null;
  event: string;
  data: string;
  retry: number | null;
}

/**
 * An incremental SSE parser (the WHATWG rules: `field: value` lines, `:` comments, multi-line `data`,
 * frames ended by a blank line, CRLF or LF). Feed it text as it arrives; it returns complete frames.
 */
export class SseParser {
  private buffer = "";
  private data: string[] = [];
  private event = "";
  private id: string | null = null;
  private retry: number | null = null;

  push(chunk: string): SseFrame[] {
    this.buffer += chunk;
    const frames: SseFrame[] = [];
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.buffer);
      if (!match) break;
      // A lone "\r" at the very end may be the first half of "\r\n": wait for more.
      if (match[0] === "\r" && match.index === this.buffer.length - 1) break;
      const line = this.buffer.slice(0, match.index);
      this.buffer = this.buffer.slice(match.index + match[0].length);
      const frame = this.line(line);
      if (frame) frames.push(frame);
    }
    return frames;
  }

  private line(line: string): SseFrame | null {
    if (line === "") {
      if (this.data.length === 0 && this.id === null) {
        this.event = "";
        return null;
      }
      const frame = { id: this.id, event: this.event || "message", data: this.data.join("\n"), retry: this.retry };
      this.data = [];
      this.event = "";
      this.id = null;
      this.retry = null;
      return frame;
    }
    if (line.startsWith(":")) return null;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") this.data.push(value);
    else if (field === "event") this.event = value;
    else if (field === "id" && !value.includes("\0")) this.id = value;
    else if (field === "retry" && /^\d+$/.test(value)) this.retry = Number(value);
    return null;
  }
}

/** The state of a followed stream, for a "reconnecting…" indicator. */
export type StreamStatus =
  | { state: "connecting"; attempt: number }
  | { state: "live" }
  | { state: "reconnecting"; attempt: number; inMs: number; reason: string }
  | { state: "ended"; final: string | null }
  | { state: "failed"; error: ApiError };

export interface FollowHandlers {
  onEvent(event: GenerationEvent): void;
  onStatus?(status: StreamStatus): void;
}

export interface FollowOptions {
  /** Resume after this event id (the last one the caller already has); default 0: from the start. */
  after?: number;
  /** First reconnect delay (doubles each failed attempt, with jitter); default 500 ms. */
  initialDelayMs?: number;
  /** Longest reconnect delay; default 10 s. */
  maxDelayMs?: number;
  /** A connection silent this long is treated as dropped (the server sends heartbeats); default 45 s. */
  idleTimeoutMs?: number;
  /** Give up after this many failed attempts in a row; default: never. */
  maxAttempts?: number;
  fetch?: typeof fetch;
  /** Extra headers per attempt (the Authorization header). */
  headers?: () => Record<string, string>;
  /** Called when following stops for good because of an error the server gave (401, 404, ...). */
  onFatal?(error: ApiError): void;
}

export interface Following {
  /** Resolves when the stream ended with a final event, or was closed; rejects with a fatal ApiError. */
  done: Promise<{ final: string | null; lastEventId: number }>;
  /** The id of the last event delivered. */
  lastEventId(): number;
  /** Stops following (no more events or reconnects). */
  close(): void;
}

/** Statuses that no retry can fix: the stream stops with the error. */
function isFatal(error: ApiError): boolean {
  return error.status >= 400 && error.status < 500 && error.status !== 408 && error.status !== 429;
}

/** Follows an SSE URL until a final event, reconnecting with `Last-Event-ID` after every drop. */
export function followEvents(url: string, handlers: FollowHandlers, options: FollowOptions = {}): Following {
  const doFetch = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => globalThis.fetch(input, init));
  const initialDelay = options.initialDelayMs ?? 500;
  const maxDelay = options.maxDelayMs ?? 10_000;
  const idleTimeout = options.idleTimeoutMs ?? 45_000;
  let lastId = options.after ?? 0;
  let closed = false;
  let current: AbortController | null = null;
  let wakeSleeper: (() => void) | null = null;
  /** Whether the current connection delivered anything (an event or a heartbeat) before it ended. */
  let heard = false;
  const status = (s: StreamStatus) => handlers.onStatus?.(s);

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wakeSleeper = null;
        globalThis.removeEventListener?.("online", done);
        resolve();
      }
      wakeSleeper = done;
      // Back online: try at once instead of waiting out the backoff.
      globalThis.addEventListener?.("online", done);
    });

  /** One connection: resolves with the final event type, or null when the connection ended without one. */
  async function connect(): Promise<string | null> {
    const controller = new AbortController();
    current = controller;
    const headers: Record<string, string> = { accept: "text/event-stream", ...(options.headers?.() ?? {}) };
    if (lastId > 0) headers["last-event-id"] = String(lastId);
    let response: Response;
    try {
      response = await doFetch(url, { headers, signal: controller.signal, cache: "no-store" });
    } catch (err) {
      throw networkError(err, url);
    }
    if (!response.ok) throw await errorFromResponse(response);
    if (!response.body) throw new ApiError(response.status, "unavailable", "the event stream has no body");
    status({ state: "live" });
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    const parser = new SseParser();
    let idle: ReturnType<typeof setTimeout> | undefined;
    const armIdle = () => {
      clearTimeout(idle);
      idle = setTimeout(() => controller.abort(new Error("no data or heartbeat received")), idleTimeout);
    };
    armIdle();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return null;
        heard = true;
        armIdle();
        for (const frame of parser.push(value)) {
          const seq = frame.id === null ? NaN : Number(frame.id);
          if (Number.isInteger(seq) && seq <= lastId) continue; // already delivered before a reconnect
          let data: Record<string, unknown> = {};
          try {
            data = frame.data ? (JSON.parse(frame.data) as Record<string, unknown>) : {};
          } catch {
            data = { raw: frame.data };
          }
          if (Number.isInteger(seq)) lastId = seq;
          const event = { type: frame.event, data, seq: Number.isInteger(seq) ? seq : lastId, at: typeof data.at === "string" ? data.at : new Date().toISOString() };
          if (closed) return null;
          handlers.onEvent(event as GenerationEvent);
          if (FINAL_EVENT_TYPES.has(frame.event)) return frame.event;
        }
      }
    } catch (err) {
      if (closed) return null;
      throw networkError(controller.signal.aborted ? controller.signal.reason : err, url);
    } finally {
      clearTimeout(idle);
      controller.abort();
      reader.releaseLock?.();
    }
  }

  const done = (async () => {
    let failures = 0;
    for (;;) {
      if (closed) return { final: null, lastEventId: lastId };
      status({ state: "connecting", attempt: failures + 1 });
      const before = lastId;
      heard = false;
      let reason: string;
      try {
        const final = await connect();
        if (final) {
          status({ state: "ended", final });
          return { final, lastEventId: lastId };
        }
        // A stream that spoke and then ended cleanly reached the server's lifetime cap: resume at once.
        if (heard) {
          failures = 0;
          continue;
        }
        reason = "the connection closed";
      } catch (err) {
        const error = err instanceof ApiError ? err : networkError(err, url);
        if (closed) return { final: null, lastEventId: lastId };
        if (isFatal(error)) {
          status({ state: "failed", error });
          options.onFatal?.(error);
          throw error;
        }
        reason = error.message;
      }
      if (closed) return { final: null, lastEventId: lastId };
      failures = lastId > before ? 1 : failures + 1;
      if (options.maxAttempts !== undefined && failures >= options.maxAttempts) {
        const error = new ApiError(0, "unavailable", `the event stream kept dropping (${reason})`);
        status({ state: "failed", error });
        options.onFatal?.(error);
        throw error;
      }
      const delay = Math.min(maxDelay, initialDelay * 2 ** (failures - 1));
      const inMs = Math.round(delay * (0.75 + Math.random() * 0.5));
      status({ state: "reconnecting", attempt: failures, inMs, reason });
      await sleep(inMs);
    }
  })();
  // Callers that only use the handlers must not see an unhandled rejection.
  done.catch(() => undefined);

  return {
    done,
    lastEventId: () => lastId,
    close() {
      closed = true;
      current?.abort();
      wakeSleeper?.();
    },
  };
}
