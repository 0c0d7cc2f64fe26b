/**
 * Server-sent events: framing, and writing a body in many small socket writes.
 */
import type { ServerResponse } from "node:http";
import { splitBytes, type Random } from "./chunking";

/** One server-sent event: its `event:` name and the JSON for its `data:` line. */
export interface SseEvent {
  event: string;
  data: unknown;
}

/** Frames events as `event: <name>\ndata: <json>\n\n`, the only form the SDK accepts. */
export function encodeSse(events: readonly SseEvent[]): Buffer {
  return Buffer.from(events.map(({ event, data }) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`).join(""));
}

/** Sends the headers of a `text/event-stream` response. */
export function startSse(res: ServerResponse): void {
  res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" });
}

/**
 * Writes `bytes` in pieces split at random byte boundaries, pausing `delayMs` between writes
 * (at least one event-loop turn, so pieces leave as separate writes). Stops early when the
 * client goes away. Resolves to true if every byte was written.
 */
export async function writeInPieces(res: ServerResponse, bytes: Buffer, random: Random, delayMs = 0): Promise<boolean> {
  let flushed = true;
  for (const [k, piece] of splitBytes(bytes, random).entries()) {
    if (k > 0) {
      if (!flushed) await untilOrClosed(res, (done) => onDrain(res, done));
      await untilOrClosed(res, (done) => afterDelay(delayMs, done));
    }
    if (res.destroyed) return false;
    flushed = res.write(piece);
  }
  return !res.destroyed;
}

/** Resolves when `arm`'s callback fires or `res` closes, whichever is first; `arm` returns its own cancel. */
function untilOrClosed(res: ServerResponse, arm: (done: () => void) => () => void): Promise<void> {
  if (res.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const finish = () => {
      cancel();
      res.off("close", finish);
      resolve();
    };
    const cancel = arm(finish);
    res.once("close", finish);
  });
}

function onDrain(res: ServerResponse, done: () => void): () => void {
  res.once("drain", done);
  return () => res.off("drain", done);
}

/** Calls `done` after `delayMs`, or on the next event-loop turn when it is 0. */
function afterDelay(delayMs: number, done: () => void): () => void {
  if (delayMs <= 0) {
    const immediate = setImmediate(done);
    return () => clearImmediate(immediate);
  }
  const timer = setTimeout(done, delayMs);
  return () => clearTimeout(timer);
}
