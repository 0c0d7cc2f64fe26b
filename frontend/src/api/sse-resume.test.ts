import { afterEach, describe, expect, it } from "vitest";
import { LiveEvents } from "../../../ai/jobs/live";
import { streamJobEvents } from "../../../ai/jobs/stream";
import { encoreRaw, memoryEvents, serveRaw } from "../../../test/support/raw-stream";
import { followEvents, type GenerationEvent } from "./sse";

const JOB = "job_1";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let server: Awaited<ReturnType<typeof serveRaw>> | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe("following a generation whose streams end at their lifetime (Encore's api.raw cannot see a client leave)", () => {
  it("the typed client follows a job across many stream lifetimes under Encore's shape: every event once, in order", async () => {
    const log = memoryEvents();
    const live = new LiveEvents();
    const resumedFrom: (string | undefined)[] = [];
    server = await serveRaw((nodeReq, nodeRes) => {
      resumedFrom.push(nodeReq.headers["last-event-id"] as string | undefined);
      const { req, res } = encoreRaw(nodeReq, nodeRes);
      const afterSeq = Number(nodeReq.headers["last-event-id"] ?? 0);
      void streamJobEvents(req, res, { store: log, live, jobId: JOB, afterSeq, heartbeatMs: 30, maxStreamMs: 250 });
    });
    const producer = (async () => {
      for (let i = 1; i <= 15; i++) {
        log.append("text", { text: `chunk ${i}` });
        live.notify(JOB);
        await sleep(60);
      }
      log.append("completed", { summary: "done", previewUrl: "http://preview" });
      live.notify(JOB);
    })();

    const received: GenerationEvent[] = [];
    const following = followEvents(`${server.url}/events`, { onEvent: (e) => received.push(e) }, { initialDelayMs: 10, maxDelayMs: 50 });
    const result = await following.done;
    await producer;

    expect(result).toEqual({ final: "completed", lastEventId: 16 });
    expect(received.map((e) => e.seq)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    expect(resumedFrom.length).toBeGreaterThan(2);
    expect(resumedFrom[0]).toBeUndefined();
    expect(resumedFrom.slice(1).every((id) => Number(id) > 0)).toBe(true);
  });

  it("resumes at once after a stream that ended at its lifetime, however long the backoff: a quiet job's events are not held back", async () => {
    const log = memoryEvents();
    const live = new LiveEvents();
    let streams = 0;
    server = await serveRaw((nodeReq, nodeRes) => {
      streams++;
      const { req, res } = encoreRaw(nodeReq, nodeRes);
      void streamJobEvents(req, res, { store: log, live, jobId: JOB, afterSeq: Number(nodeReq.headers["last-event-id"] ?? 0), heartbeatMs: 20, maxStreamMs: 100 });
    });
    // Quiet for several lifetimes, then the end.
    setTimeout(() => {
      log.append("completed", { summary: "done", previewUrl: "http://preview" });
      live.notify(JOB);
    }, 450);
    const started = Date.now();
    const following = followEvents(`${server.url}/events`, { onEvent: () => undefined }, { initialDelayMs: 5000, maxDelayMs: 10_000 });
    expect((await following.done).final).toBe("completed");
    expect(streams).toBeGreaterThanOrEqual(3);
    // With the backoff, each clean end would have cost 5 s or more.
    expect(Date.now() - started).toBeLessThan(3000);
  });
});
