import { request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { encoreRaw, memoryEvents, serveRaw } from "../../test/support/raw-stream";
import { LiveEvents } from "./live";
import { streamJobEvents } from "./stream";

const JOB = "job_1";

/** How many streams still listen for a job's live events. */
const listening = (live: LiveEvents) => (live as unknown as { listeners: Map<string, Set<unknown>> }).listeners.get(JOB)?.size ?? 0;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let server: Awaited<ReturnType<typeof serveRaw>> | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A real HTTP server whose one route runs `handler`. */
async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  server = await serveRaw(handler);
  return server.url;
}

/** Connects, waits for the first event frame, then drops the connection as a closed tab does. */
function connectThenDisconnect(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}/events`, (res) => {
      res.on("data", (chunk: Buffer) => {
        if (!chunk.toString().includes("id: 1")) return;
        req.destroy();
        resolve(Date.now());
      });
    });
    req.on("error", () => undefined);
    req.setTimeout(5000, () => reject(new Error("no first event")));
    req.end();
  });
}

describe("an event stream whose client disconnects", () => {
  it("on Node's request and response (standalone): stops at once, writes nothing more, leaves no listener or poll", async () => {
    const log = memoryEvents();
    log.append("queued");
    const live = new LiveEvents();
    let ended = false;
    let closedAt: number | undefined;
    const writesAfterClose: string[] = [];
    const url = await serve((req, res) => {
      res.on("close", () => (closedAt ??= Date.now()));
      const write = res.write.bind(res) as (...args: unknown[]) => boolean;
      res.write = ((...args: unknown[]) => {
        if (closedAt !== undefined) writesAfterClose.push(String(args[0]));
        return write(...args);
      }) as typeof res.write;
      void streamJobEvents(req, res, { store: log, live, jobId: JOB, afterSeq: 0, heartbeatMs: 60_000, maxStreamMs: 60_000 }).then(() => (ended = true));
    });

    const left = await connectThenDisconnect(url);
    await expect.poll(() => ended, { timeout: 2000, interval: 10 }).toBe(true);
    const stoppedAfter = Date.now() - left;
    const reads = log.reads();
    await sleep(300);

    expect(stoppedAfter).toBeLessThan(1000);
    expect(log.reads()).toBe(reads);
    expect(listening(live)).toBe(0);
    expect(writesAfterClose).toEqual([]);
  });

  it("under Encore's api.raw shape (no close, no failed write): ends at the stream's lifetime, then writes and polls nothing", async () => {
    const log = memoryEvents();
    log.append("queued");
    const live = new LiveEvents();
    let exchange: ReturnType<typeof encoreRaw> | undefined;
    let ended = false;
    let started = 0;
    const maxStreamMs = 1200;
    const url = await serve((nodeReq, nodeRes) => {
      exchange = encoreRaw(nodeReq, nodeRes);
      started = Date.now();
      void streamJobEvents(exchange.req, exchange.res, { store: log, live, jobId: JOB, afterSeq: 0, heartbeatMs: 50, maxStreamMs }).then(() => (ended = true));
    });

    const left = await connectThenDisconnect(url);
    // The runtime said nothing: the stream cannot know yet, and keeps following for now.
    await sleep(400);
    expect(ended).toBe(false);
    expect(exchange!.writes.some((w) => w.at > left)).toBe(true);

    await expect.poll(() => ended, { timeout: maxStreamMs + 2000, interval: 20 }).toBe(true);
    const lifetime = exchange!.endedAt()! - started;
    expect(lifetime).toBeGreaterThanOrEqual(maxStreamMs - 50);
    expect(lifetime).toBeLessThan(maxStreamMs + 500);
    const reads = log.reads();
    const writes = exchange!.writes.length;
    await sleep(300);
    expect(log.reads()).toBe(reads);
    expect(exchange!.writes.length).toBe(writes);
    expect(exchange!.writes.every((w) => w.at <= exchange!.endedAt()!)).toBe(true);
    expect(listening(live)).toBe(0);
    expect(exchange!.req.listenerCount("close")).toBe(0);
  });

  it("where the runtime reports a failed write: stops at the first heartbeat after the client left", async () => {
    const log = memoryEvents();
    log.append("queued");
    const live = new LiveEvents();
    let exchange: ReturnType<typeof encoreRaw> | undefined;
    let ended = false;
    const url = await serve((nodeReq, nodeRes) => {
      exchange = encoreRaw(nodeReq, nodeRes, { reportFailedWrites: true });
      void streamJobEvents(exchange.req, exchange.res, { store: log, live, jobId: JOB, afterSeq: 0, heartbeatMs: 100, maxStreamMs: 60_000 }).then(() => (ended = true));
    });

    const left = await connectThenDisconnect(url);
    await expect.poll(() => ended, { timeout: 2000, interval: 10 }).toBe(true);
    expect(Date.now() - left).toBeLessThan(1000);
    const reads = log.reads();
    await sleep(300);
    expect(log.reads()).toBe(reads);
    expect(listening(live)).toBe(0);
  });
});
