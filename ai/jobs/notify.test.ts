import { request as httpRequest } from "node:http";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTestDatabase, type TestDatabase } from "../../test/support/database";
import { memoryLogger } from "../../test/support/kiln";
import { serveRaw } from "../../test/support/raw-stream";
import { newId } from "../../lib/ids";
import { LiveEvents } from "./live";
import { EVENTS_CHANNEL, postgresChannel } from "./notify";
import { createJobStore, type JobStore } from "./store";
import { streamJobEvents } from "./stream";

const onServer = Boolean(process.env.DATABASE_URL);

/** Resolves once `check` holds (checked every 10 ms), or fails naming `what` after 10 s. */
async function waitFor(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
const { log } = memoryLogger("error");

let db: TestDatabase;
let store: JobStore;
beforeAll(async () => {
  db = await openTestDatabase("ai");
  store = createJobStore(db.pool);
});
afterAll(() => db.close());

/** The pool with every query counted. */
function counting(pool: pg.Pool): { pool: pg.Pool; queries: () => number } {
  let queries = 0;
  const wrapped = new Proxy(pool, {
    get(target, key, receiver) {
      if (key !== "query") return Reflect.get(target, key, receiver);
      return (...args: unknown[]) => {
        queries++;
        return (target.query as (...a: unknown[]) => unknown)(...args);
      };
    },
  });
  return { pool: wrapped, queries: () => queries };
}

async function newJob(): Promise<string> {
  const job = await store.insert({ id: newId("job"), projectId: newId("prj"), ownerId: "usr_notify", prompt: "p" });
  await store.appendEvent(job.id, "queued", { status: "queued", step: "queued", progress: 0 });
  return job.id;
}

/** Serves one job's stream on `live` and follows it: event ids and heartbeats received so far. */
async function follow(live: LiveEvents, jobId: string, reads: { count: number }) {
  const counted = { eventsAfter: (id: string, after: number) => ((reads.count++), store.eventsAfter(id, after)) };
  const server = await serveRaw((req, res) => void streamJobEvents(req, res, { store: counted, live, jobId, afterSeq: 0, heartbeatMs: 25, maxStreamMs: 60_000 }));
  const seen = { ids: [] as number[], heartbeats: 0 };
  const req = httpRequest(`${server.url}/events`, (res) => {
    res.on("data", (chunk: Buffer) => {
      const text = chunk.toString();
      for (const m of text.matchAll(/^id: (\d+)$/gm)) seen.ids.push(Number(m[1]));
      seen.heartbeats += text.split(": keep-alive").length - 1;
    });
  });
  req.on("error", () => undefined);
  req.end();
  return {
    seen,
    close: async () => {
      req.destroy();
      await server.close();
    },
  };
}

const heartbeatsFrom = (seen: { heartbeats: number }, n: number) => {
  const target = seen.heartbeats + n;
  return waitFor(`${n} more heartbeats`, () => seen.heartbeats >= target);
};

describe("job event streams are pushed, not polled", () => {
  it("an idle stream reads nothing while its job is quiet, and an event of this process reaches it without a read of anything else", async () => {
    const counted = counting(db.pool);
    const channel = postgresChannel(counted.pool, { log, pollMs: 20 });
    const live = new LiveEvents(channel);
    const jobId = await newJob();
    const reads = { count: 0 };
    const stream = await follow(live, jobId, reads);
    try {
      await waitFor("the replay", () => stream.seen.ids.includes(1));
      await waitFor("the channel's final mode", () => channel.mode() === (onServer ? "listen" : "poll"));
      // Coming up, the channel has every stream read once (LISTEN is up; PGlite: the first shared read saw the job).
      await waitFor("the catch-up read", () => reads.count >= 2);
      const before = { reads: reads.count, queries: counted.queries() };
      await heartbeatsFrom(stream.seen, 8);
      expect(reads.count).toBe(before.reads);
      // On a Postgres server nothing at all; on PGlite (no LISTEN) the one shared read of the job rows per interval.
      if (onServer) expect(counted.queries()).toBe(before.queries);
      else expect(counted.queries()).toBeGreaterThan(before.queries);

      await store.appendEvent(jobId, "step", { step: "generating", progress: 10 });
      live.notify(jobId);
      await waitFor("the pushed event", () => stream.seen.ids.includes(2));
    } finally {
      await stream.close();
      await live.close();
    }
  });

  it("the watchers of one job woken together share one read; a read begun before news is never joined by one that news woke", async () => {
    const live = new LiveEvents();
    const off = live.subscribe("job_shared", () => undefined);
    let reads = 0;
    const read = async () => ++reads;
    const [a, b] = [live.shared("job_shared", 3, read), live.shared("job_shared", 3, read)];
    expect([await a, await b]).toEqual([1, 1]);
    const before = live.shared("job_shared", 3, read);
    live.notify("job_shared");
    const after = live.shared("job_shared", 3, read);
    expect([await before, await after]).toEqual([2, 3]);
    // Another position is another read.
    expect(await Promise.all([live.shared("job_shared", 4, read), live.shared("job_shared", 5, read)])).toEqual([4, 5]);
    off();

    const jobId = await newJob();
    const counts = { count: 0 };
    const watchers = [await follow(live, jobId, counts), await follow(live, jobId, counts)];
    try {
      await waitFor("both replays", () => watchers.every((w) => w.seen.ids.includes(1)));
      const settled = counts.count;
      await store.appendEvent(jobId, "step", { step: "generating", progress: 10 });
      live.notify(jobId);
      await waitFor("the event at both watchers", () => watchers.every((w) => w.seen.ids.includes(2)));
      expect(counts.count).toBe(settled + 1);
    } finally {
      await Promise.all(watchers.map((w) => w.close()));
    }
  });

  it.skipIf(!onServer)("on a Postgres server: a NOTIFY from another connection wakes the stream; this process's own NOTIFY is not a second wake", async () => {
    const live = new LiveEvents(postgresChannel(db.pool, { log }));
    const other = new LiveEvents(postgresChannel(db.pool, { log }));
    const jobId = await newJob();
    const reads = { count: 0 };
    const stream = await follow(live, jobId, reads);
    const outsider = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await outsider.connect();
    try {
      await waitFor("LISTEN", () => stream.seen.ids.includes(1) && (live as unknown as { channel: { mode(): string } }).channel.mode() === "listen");
      // Another Kiln process: it stores the event and announces it.
      await store.appendEvent(jobId, "step", { step: "generating", progress: 10 });
      other.notify(jobId);
      await waitFor("the event announced by another process", () => stream.seen.ids.includes(2));
      // A bare NOTIFY from any connection, as a runner of another version would send it.
      await store.appendEvent(jobId, "step", { step: "completing", progress: 90 });
      await outsider.query("SELECT pg_notify($1, $2)", [EVENTS_CHANNEL, `someone-else ${jobId}`]);
      await waitFor("the event of the outsider's NOTIFY", () => stream.seen.ids.includes(3));

      const settled = reads.count;
      await store.appendEvent(jobId, "step", { step: "done", progress: 100 });
      live.notify(jobId);
      await waitFor("the local event", () => stream.seen.ids.includes(4));
      await heartbeatsFrom(stream.seen, 4);
      // One read for the local wake; the NOTIFY this process sent itself was ignored.
      expect(reads.count).toBe(settled + 1);
      // A NOTIFY naming a job nobody here follows reads nothing.
      await outsider.query("SELECT pg_notify($1, $2)", [EVENTS_CHANNEL, `someone-else job_nobody`]);
      await heartbeatsFrom(stream.seen, 4);
      expect(reads.count).toBe(settled + 1);
    } finally {
      await outsider.end();
      await stream.close();
      await live.close();
      await other.close();
    }
  });

  it.skipIf(!onServer)("on a Postgres server: after the LISTEN connection drops, what was appended meanwhile is delivered and later NOTIFYs arrive again", async () => {
    const channel = postgresChannel(db.pool, { log, pollMs: 60_000, reconnectMs: 50 });
    const live = new LiveEvents(channel);
    const other = new LiveEvents(postgresChannel(db.pool, { log }));
    const jobId = await newJob();
    const stream = await follow(live, jobId, { count: 0 });
    const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    try {
      await waitFor("LISTEN", () => stream.seen.ids.includes(1) && channel.mode() === "listen");
      const { rows } = await admin.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE query = $1 AND pid <> pg_backend_pid()", [`LISTEN ${EVENTS_CHANNEL}`]);
      expect(rows.length).toBeGreaterThan(0);
      await admin.query("SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid", [rows.map((r) => r.pid)]);
      await waitFor("the drop noticed", () => channel.mode() === "poll");
      // Appended and announced while nobody listens here: the announcement is lost, the row is not.
      await store.appendEvent(jobId, "step", { step: "generating", progress: 10 });
      other.notify(jobId);
      await waitFor("the catch-up read after reconnecting", () => stream.seen.ids.includes(2));
      expect(channel.mode()).toBe("listen");
      await store.appendEvent(jobId, "step", { step: "done", progress: 100 });
      other.notify(jobId);
      await waitFor("a NOTIFY after the reconnect", () => stream.seen.ids.includes(3));
    } finally {
      await admin.end();
      await stream.close();
      await live.close();
      await other.close();
    }
  });

  it.skipIf(onServer)("on embedded PGlite: no LISTEN, and an event stored by another process (no notification) arrives through one shared read per interval for every stream", async () => {
    const counted = counting(db.pool);
    const channel = postgresChannel(counted.pool, { log, pollMs: 30 });
    const live = new LiveEvents(channel);
    const jobs = [await newJob(), await newJob(), await newJob()];
    const reads = { count: 0 };
    const streams = await Promise.all(jobs.map((id) => follow(live, id, reads)));
    try {
      await waitFor("the replays", () => streams.every((s) => s.seen.ids.includes(1)));
      expect(channel.mode()).toBe("poll");
      await waitFor("the first shared read, which has each new stream read once", () => reads.count >= 6);
      const before = { reads: reads.count, queries: counted.queries() };
      await heartbeatsFrom(streams[0]!.seen, 8);
      expect(reads.count).toBe(before.reads);
      // 8 heartbeats of 25 ms: about 7 polls of 30 ms, one query each for the three streams (never three per poll).
      expect(counted.queries() - before.queries).toBeLessThanOrEqual(10);
      await store.appendEvent(jobs[1]!, "step", { step: "generating", progress: 10 });
      await waitFor("the polled event", () => streams[1]!.seen.ids.includes(2));
      // Only the job that moved was read again.
      expect(reads.count).toBe(before.reads + 1);
    } finally {
      await Promise.all(streams.map((s) => s.close()));
      await live.close();
    }
  });
});
