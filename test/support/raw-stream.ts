/**
 * For tests of `api.raw` streams. Encore's own `api.raw` request and response classes (encore.dev's `RawRequest`/`RawResponse`, the
 * objects an `api.raw` handler receives under `encore run`) on top of a real Node HTTP exchange, with
 * the Rust runtime's side replaced by what encoredev/encore#2515 reports it does when the client goes
 * away: nothing. The request never emits `close`, body writes keep succeeding, `destroyed` stays false.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { JobEvent } from "../../ai/jobs/store";
// Encore's compiled classes, loaded by file: the package exports no such subpath, and this file needs no runtime.
import { RawRequest, RawResponse } from "../../node_modules/encore.dev/dist/api/node_http.js";

/** The pair an `api.raw` handler receives under Encore, plus what the runtime was asked to send. */
export interface EncoreRawExchange {
  req: IncomingMessage;
  res: ServerResponse;
  /** Body chunks the handler handed to the runtime (after the client left too: they go nowhere). */
  writes: { at: number; bytes: number }[];
  /** When the handler ended the response (`res.end()`), if it did. */
  endedAt(): number | undefined;
}

/**
 * Wraps a Node exchange in Encore's raw classes; the Node response is written as the runtime would.
 * With `reportFailedWrites`, a body write after the client left fails (what a runtime that noticed
 * would do), instead of the silence of #2515.
 */
export function encoreRaw(nodeReq: IncomingMessage, nodeRes: ServerResponse, options: { reportFailedWrites?: boolean } = {}): EncoreRawExchange {
  const writes: { at: number; bytes: number }[] = [];
  let ended: number | undefined;
  const meta = {
    apiCall: { method: nodeReq.method ?? "GET", pathAndQuery: nodeReq.url ?? "/", headers: nodeReq.headers, pathParams: {} },
  };
  const request = { meta: () => meta };
  // A GET has no body: the runtime reports its end at once. Nobody reads it, so no 'end' or 'close' follows.
  const body = { start: (push: (chunk: Buffer | null) => void) => push(null), read: () => undefined };
  const deliver = (chunk: Buffer) => {
    writes.push({ at: Date.now(), bytes: chunk.length });
    // The runtime streams into a channel the client side drains; once the client is gone the bytes are dropped.
    if (!nodeRes.destroyed) nodeRes.write(chunk, () => undefined);
  };
  const writer = {
    writeHead: (status: number, headers: Record<string, string | number | string[]>) => {
      nodeRes.writeHead(status, headers);
      nodeRes.flushHeaders();
    },
    writeBody: (chunk: Buffer, done: (err?: Error | null) => void) => {
      if (options.reportFailedWrites && nodeRes.destroyed) return done(new Error("the client is gone"));
      deliver(chunk);
      done();
    },
    writeBodyMulti: (chunks: Buffer[], done: (err?: Error | null) => void) => {
      for (const chunk of chunks) deliver(chunk);
      done();
    },
    close: (_trailers: unknown, done: (err?: Error | null) => void) => {
      ended = Date.now();
      if (!nodeRes.destroyed) nodeRes.end();
      done();
    },
  };
  const req = new RawRequest(request as never, body as never);
  const res = new RawResponse(req, writer as never);
  return { req: req as unknown as IncomingMessage, res: res as unknown as ServerResponse, writes, endedAt: () => ended };
}

/** A job's event log in memory (the part of the job store a stream reads), counting its reads. */
export function memoryEvents() {
  const events: JobEvent[] = [];
  let reads = 0;
  return {
    reads: () => reads,
    append(type: string, data: Record<string, unknown> = {}) {
      events.push({ seq: events.length + 1, type, data, at: new Date().toISOString() } as JobEvent);
    },
    eventsAfter: async (_jobId: string, afterSeq: number) => {
      reads++;
      return events.filter((e) => e.seq > afterSeq);
    },
  };
}

/** A real HTTP server running `handler` for every request; `close` drops its connections. */
export async function serveRaw(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
