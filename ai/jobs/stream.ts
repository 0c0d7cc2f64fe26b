import type { IncomingMessage, ServerResponse } from "node:http";
import { invalidArgument } from "../../lib/errors";
import { FINAL_EVENT_TYPES } from "../contract";
import type { LiveEvents } from "./live";
import { jsonbSafe, type JobEvent, type JobStore } from "./store";

/** Events read per query; a full page is followed at once by the next. */
const PAGE = 500;

/** The largest event sequence number (`generation_events.seq` is a Postgres integer). */
const MAX_SEQ = 2_147_483_647;

function sequenceNumber(field: string, text: string): number {
  const value = /^\d{1,10}$/.test(text) ? Number(text) : NaN;
  if (!(value <= MAX_SEQ)) throw invalidArgument(field, `must be an event id from 0 to ${MAX_SEQ}, got ${JSON.stringify(text.slice(0, 40))}`);
  return value;
}

/**
 * Where a client resumes: the `Last-Event-ID` header, else `?after=`, else the start. A value that is
 * not an event id (negative, fractional, not a number, past the largest) is `invalid_argument` naming
 * where it came from; an empty header counts as none.
 */
export function resumePoint(req: IncomingMessage): number {
  const header = req.headers["last-event-id"];
  const fromHeader = (Array.isArray(header) ? header.join(",") : header)?.trim();
  const fromQuery = new URL(req.url ?? "/", "http://x").searchParams.get("after");
  const after = fromQuery === null ? undefined : sequenceNumber("after", fromQuery);
  return fromHeader ? sequenceNumber("Last-Event-ID", fromHeader) : (after ?? 0);
}

function frame(event: JobEvent): string {
  // jsonbSafe: an event handed over live reads as the stored one does when replayed.
  return `id: ${event.seq}\nevent: ${event.type}\ndata: ${JSON.stringify({ ...event.data, seq: event.seq, at: event.at }, jsonbSafe)}\n\n`;
}

/**
 * How long one stream stays open before it ends and the client resumes with `Last-Event-ID`. It bounds
 * a stream whose client left without the runtime saying so: Encore's `api.raw` emits no `close` or
 * `error` and no failed write when the client goes away (encoredev/encore#2515).
 */
export const MAX_STREAM_MS = 120_000;

/** What a job's event stream reads and how long it may run. */
export interface StreamOptions {
  store: Pick<JobStore, "eventsAfter">;
  live: LiveEvents;
  jobId: string;
  afterSeq: number;
  heartbeatMs: number;
  /** Lifetime of one stream (default MAX_STREAM_MS). */
  maxStreamMs?: number;
}

/**
 * Streams a job's events as Server-Sent Events: replays those after `afterSeq`, then follows live: the
 * events stored in this process are handed over by `live` and sent as they are, and the database is
 * read again only for news without them (another process's, through Postgres NOTIFY; see
 * ai/jobs/notify.ts) or when what was handed over does not follow on from the last sent. Sends a heartbeat comment
 * every `heartbeatMs`, and ends after the final event. It stops at the first sign the client is gone
 * (`close` on the request or response, an `error`, a failed write) and in any case after
 * `maxStreamMs`, when the client resumes where it was: after that nothing is written, no timer or
 * listener is left, and the database is no longer read.
 */
export async function streamJobEvents(req: IncomingMessage, res: ServerResponse, options: StreamOptions): Promise<void> {
  let last = options.afterSeq;
  let closed = false;
  let dirty = false;
  let wake: (() => void) | undefined;
  const stop = () => {
    closed = true;
    wake?.();
  };
  const gone = () => closed || res.destroyed || res.writableEnded;
  const write = (chunk: string) => {
    if (gone()) return stop();
    res.write(chunk, (err) => {
      if (err) stop();
    });
  };
  req.on("close", stop);
  res.on("close", stop);
  res.on("error", stop);
  const handed: JobEvent[] = [];
  const unsubscribe = options.live.subscribe(options.jobId, (events) => {
    if (events) handed.push(...events);
    else dirty = true;
    wake?.();
  });
  const heartbeat = setInterval(() => write(": keep-alive\n\n"), options.heartbeatMs);
  const lifetime = setTimeout(stop, options.maxStreamMs ?? MAX_STREAM_MS);
  try {
    res.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-cache, no-transform",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    res.flushHeaders();
    let read = true;
    let ended = false;
    const send = (event: JobEvent) => {
      write(frame(event));
      last = event.seq;
      ended ||= FINAL_EVENT_TYPES.has(event.type);
    };
    while (!gone()) {
      if (read) {
        dirty = false;
        const after = last;
        const events = await options.live.shared(options.jobId, after, () => options.store.eventsAfter(options.jobId, after, PAGE));
        for (const event of events) {
          if (gone()) break;
          send(event);
        }
        read = events.length === PAGE;
      } else {
        // Events handed over in this process: sent while each follows the last; a gap is read instead.
        for (const event of handed.splice(0).sort((a, b) => a.seq - b.seq)) {
          if (event.seq <= last) continue;
          if (event.seq !== last + 1 || gone()) {
            read = true;
            break;
          }
          send(event);
        }
      }
      if (ended) break;
      if (read || dirty) {
        read = true;
        continue;
      }
      if (handed.length > 0) continue;
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
  } finally {
    closed = true;
    clearInterval(heartbeat);
    clearTimeout(lifetime);
    unsubscribe();
    req.off("close", stop);
    res.off("close", stop);
    // Keep an `error` listener: a late write error on a response nobody listens to would crash the process.
    if (!res.destroyed && !res.writableEnded) res.end();
  }
}
