import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../lib/ids";
import { openTestDatabase, type TestDatabase } from "../../test/support/database";
import { memoryLogger } from "../../test/support/kiln";
import { startRunner, type Executor, type Runner } from "./runner";
import { createJobStore, jsonbSafe, type JobStore } from "./store";

let database: TestDatabase;
let store: JobStore;
const { log } = memoryLogger("warn");

beforeAll(async () => {
  database = await openTestDatabase("ai");
  store = createJobStore(database.pool);
});
afterAll(async () => {
  await database?.close();
});

function runner(execute: Executor, overrides: Partial<Parameters<typeof startRunner>[0]> = {}): Runner {
  return startRunner({ store, execute, workerId: newId("wrk"), concurrency: 2, leaseMs: 600, pollMs: 20, maxResumes: 3, onEvent: () => undefined, log, ...overrides });
}

async function queue(prompt = "build it") {
  return store.insert({ id: newId("job"), projectId: newId("prj"), ownerId: "usr_1", prompt });
}

async function until<T>(probe: () => Promise<T | null | undefined | false>, timeoutMs = 8000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const finished = (id: string) => until(async () => {
  const job = await store.get(id);
  return job && ["completed", "failed", "cancelled"].includes(job.status) ? job : null;
});

describe("the durable job runner", () => {
  it("shares the queue between runners without running any job twice", async () => {
    const runs = new Map<string, number>();
    const execute: Executor = async ({ job, step }) => {
      runs.set(job.id, (runs.get(job.id) ?? 0) + 1);
      await step("generating", 50);
      return { status: "completed", summary: "ok", previewUrl: "http://x" };
    };
    const jobs = await Promise.all(Array.from({ length: 12 }, () => queue()));
    const a = runner(execute);
    const b = runner(execute);
    try {
      for (const job of jobs) expect((await finished(job.id)).status).toBe("completed");
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
    expect([...runs.values()]).toEqual(Array(12).fill(1));
  });

  it("records every step as an event in order, with progress that never goes backwards", async () => {
    const job = await queue();
    const r = runner(async ({ step, emit }) => {
      await step("preparing_workspace", 10);
      await step("waiting_for_workspace", 20);
      await emit("text", { text: "hello" });
      await step("generating", 15);
      return { status: "completed", summary: "done", previewUrl: "http://127.0.0.1:5173" };
    });
    try {
      const done = await finished(job.id);
      expect(done).toMatchObject({ status: "completed", progress: 100, summary: "done", step: "done" });
    } finally {
      await r.stop();
    }
    const events = await store.eventsAfter(job.id, 0);
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(events.map((e) => e.type)).toEqual(["step", "step", "text", "step", "completed"]);
    expect(events.filter((e) => e.type === "step").map((e) => e.data.progress)).toEqual([10, 20, 20]);
    expect((await store.eventsAfter(job.id, 3)).map((e) => e.seq)).toEqual([4, 5]);
  });

  it("fails a job whose executor throws, with the error's message", async () => {
    const job = await queue();
    const r = runner(async () => {
      throw new Error("workspace wsp_1 is in error: image pull failed");
    });
    try {
      expect(await finished(job.id)).toMatchObject({ status: "failed", error: "workspace wsp_1 is in error: image pull failed" });
    } finally {
      await r.stop();
    }
  });

  it("cancels a running job within a heartbeat, aborting its work", async () => {
    const job = await queue();
    let aborted = false;
    const r = runner(async ({ signal, step }) => {
      await step("generating", 40);
      await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
      aborted = true;
      return { status: "failed", error: "stopped" };
    }, { leaseMs: 300 });
    try {
      await until(async () => (await store.get(job.id))?.step === "generating");
      const asked = Date.now();
      await store.requestCancel(job.id);
      const done = await finished(job.id);
      expect(done).toMatchObject({ status: "cancelled", error: "cancelled by the user" });
      expect(Date.now() - asked).toBeLessThan(1500);
      expect(aborted).toBe(true);
    } finally {
      await r.stop();
    }
  });

  it("resumes a job whose runner died before the agent started", async () => {
    const job = await queue();
    const dead = await store.claim("wrk_dead", 100);
    expect(dead?.id).toBe(job.id);
    await store.setStep(job.id, "wrk_dead", "waiting_for_workspace", 20);
    const r = runner(async ({ job: resumed }) => ({ status: "completed", summary: `attempt ${resumed.attempt}`, previewUrl: "http://x" }));
    try {
      expect(await finished(job.id)).toMatchObject({ status: "completed", summary: "attempt 2", attempt: 2 });
    } finally {
      await r.stop();
    }
    expect((await store.eventsAfter(job.id, 0)).map((e) => e.type)).toContain("resumed");
  });

  it("resumes a job whose runner died during generation, with the transcript it saved; one that lost its lease cannot overwrite it", async () => {
    const job = await queue();
    await store.claim("wrk_dead", 100);
    await store.setStep(job.id, "wrk_dead", "generating", 40);
    const transcript = { systemVersion: "v1", turns: 3, messages: [{ role: "user" as const, content: "build it" }], compactions: 0, outcome: null };
    expect(await store.saveTurn(job.id, "wrk_dead", [], transcript)).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 150));
    let seen: unknown;
    const r = runner(async (ctx) => {
      seen = await ctx.transcript();
      await ctx.saveTurn([], { ...transcript, turns: 4 });
      return { status: "completed", summary: `resumed at step ${ctx.job.step}`, previewUrl: "http://x" };
    });
    try {
      expect(await finished(job.id)).toMatchObject({ status: "completed", summary: "resumed at step generating", attempt: 2 });
    } finally {
      await r.stop();
    }
    expect(seen).toEqual(transcript);
    expect(await store.saveTurn(job.id, "wrk_dead", [], { ...transcript, turns: 9 })).toBeNull();
    expect((await store.transcript(job.id))?.turns).toBe(4);
  });

  it("fails a job resumed more than maxResumes times, saying so, after salvaging it", async () => {
    const job = await queue();
    for (let i = 0; i < 3; i++) {
      await store.claim(`wrk_dead${i}`, 1);
      await store.setStep(job.id, `wrk_dead${i}`, "generating", 40);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    let ran = false;
    const salvaged: string[] = [];
    const r = runner(
      async () => {
        ran = true;
        return { status: "completed", summary: "no", previewUrl: "http://x" };
      },
      { maxResumes: 2, salvage: async (j) => void salvaged.push(j.id) },
    );
    try {
      const done = await finished(job.id);
      expect(done).toMatchObject({ status: "failed", attempt: 4 });
      expect(done.error).toBe("the servers running this generation stopped 3 times (last during generating); gave up after 2 resumes. The files written so far are kept: send a follow-up prompt to continue.");
      expect(ran).toBe(false);
      expect(salvaged).toEqual([job.id]);
    } finally {
      await r.stop();
    }
  });

  it("counts the agent's time (its step generating) into the job, at heartbeats and steps, and no other step's", async () => {
    const job = await queue();
    const work = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    const r = runner(async ({ step }) => {
      await step("preparing_workspace", 5);
      await work(700);
      await step("generating", 20);
      await work(900);
      await step("completing", 90);
      await work(700);
      return { status: "completed", summary: "ok", previewUrl: "http://x" };
    }, { leaseMs: 300 });
    try {
      const done = await finished(job.id);
      expect(done.agentMs).toBeGreaterThanOrEqual(850);
      expect(done.agentMs).toBeLessThan(1500);
    } finally {
      await r.stop();
    }
  });

  it("ends a held job with its final event, handed back as it is stored; a runner that lost the job ends nothing", async () => {
    const job = await queue();
    while ((await store.claim("wrk_end", 60_000))?.id !== job.id);
    expect(await store.finish(job.id, "wrk_other", { status: "completed", summary: "not mine" })).toBeNull();
    const ended = await store.finish(job.id, "wrk_end", { status: "completed", summary: "a page that says \u0000hi" });
    expect(ended?.job).toMatchObject({ status: "completed", lastSeq: 1 });
    expect(await store.eventsAfter(job.id, 0)).toEqual([JSON.parse(JSON.stringify(ended!.event, jsonbSafe))]);
  });

  it("allows one active job per project, naming it", async () => {
    const first = await queue();
    await expect(store.insert({ id: newId("job"), projectId: first.projectId, ownerId: "usr_1", prompt: "again" })).rejects.toMatchObject({
      code: "already_exists",
      message: `project ${first.projectId} already has a queued generation: ${first.id}; wait for it or cancel it`,
    });
  });

  it("stores a turn's events and its conversation together: a conversation the database refuses stores neither, and the ids go on without a gap", async () => {
    const job = await queue();
    // Earlier tests may have left jobs queued: claim until this one is held.
    while ((await store.claim("wrk_turn", 60_000))?.id !== job.id);
    const finishedCall = { type: "tool_finished" as const, data: { id: "toolu_1", name: "write_to_file", input: { path: "a.txt" }, ok: true, output: "wrote a.txt", durationMs: 3 } };
    const saved = { systemVersion: "v1", turns: 2, messages: [{ role: "user" as const, content: "build it" }], compactions: 0, outcome: null };
    // Past Postgres's integer: the conversation's write fails after the events' in the same statement.
    await expect(store.saveTurn(job.id, "wrk_turn", [finishedCall, finishedCall], { ...saved, turns: 2 ** 31 })).rejects.toThrow(/out of range/);
    expect(await store.eventsAfter(job.id, 0)).toEqual([]);
    expect(await store.transcript(job.id)).toBeNull();
    expect(await store.get(job.id)).toMatchObject({ lastSeq: 0, toolCalls: 0 });

    expect((await store.saveTurn(job.id, "wrk_turn", [finishedCall], saved))?.map((e) => e.seq)).toEqual([1]);
    expect((await store.eventsAfter(job.id, 0)).map((e) => [e.seq, e.type])).toEqual([[1, "tool_finished"]]);
    expect((await store.transcript(job.id))?.turns).toBe(2);
    // The job's counts are those of its stored events.
    const usage = { inputTokens: 120, outputTokens: 30, cacheReadTokens: 7, cacheWriteTokens: 5 };
    expect((await store.saveTurn(job.id, "wrk_turn", [{ type: "usage", data: usage }, { type: "usage", data: usage }], null))?.map((e) => e.seq)).toEqual([2, 3]);
    expect(await store.get(job.id)).toMatchObject({ toolCalls: 1, usage: { inputTokens: 240, outputTokens: 60, cacheReadTokens: 14, cacheWriteTokens: 10 } });
    await store.appendEvent(job.id, "text", { text: "next" });
    expect((await store.eventsAfter(job.id, 0)).map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    // A runner that no longer holds the job stores nothing.
    expect(await store.saveTurn(job.id, "wrk_other", [finishedCall], { ...saved, turns: 3 })).toBeNull();
    expect((await store.eventsAfter(job.id, 0)).map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    expect((await store.get(job.id))?.toolCalls).toBe(1);
    expect((await store.transcript(job.id))?.turns).toBe(2);
  });
});
