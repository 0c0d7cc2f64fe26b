/**
 * A job that ends by any path leaves no approval pending: JobStore.finish closes them with the job's
 * end, in the same statement. Each path here ends a job while one of its tool calls waits for the user,
 * where nothing else closes the approval: a cancel whose own closing of it failed, a failure of the run
 * for another reason, and a job failed at the resume limit after its runners died while it waited.
 * Afterwards the job lists none pending, and an answer is 409 saying the job ended.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApprovalGate } from "../ai/approvals/gate";
import { createApprovalMethods } from "../ai/approvals/service";
import { createApprovalStore, type ApprovalStore } from "../ai/approvals/store";
import { startRunner, type Executor, type JobContext } from "../ai/jobs/runner";
import { createJobStore, type JobRecord, type JobStore } from "../ai/jobs/store";
import { newId } from "../lib/ids";
import { openTestDatabase, type TestDatabase } from "./support/database";
import { memoryLogger } from "./support/kiln";
import { waitFor } from "./support/wait-for";

const OWNER = "usr_end";
const auth = { userID: OWNER };
const CALL = { id: "toolu_end_1", name: "execute_command" };
const INPUT = { command: "rm -rf node_modules" };

let database: TestDatabase;
let jobs: JobStore;
let approvals: ApprovalStore;
let methods: ReturnType<typeof createApprovalMethods>;
const { log } = memoryLogger("error");

beforeAll(async () => {
  database = await openTestDatabase("ai");
  jobs = createJobStore(database.pool);
  approvals = createApprovalStore(database.pool);
  methods = createApprovalMethods({ jobs, approvals, emit: async () => undefined });
});
afterAll(async () => {
  await database?.close();
});

const queue = () => jobs.insert({ id: newId("job"), projectId: newId("prj"), ownerId: OWNER, prompt: "careful" });

const ended = (id: string) =>
  waitFor(`generation ${id} to end`, async () => {
    const job = await jobs.get(id);
    return job && job.status !== "queued" && job.status !== "running" ? job : undefined;
  }, { intervalMs: 20 });

/** Runs `execute` in a runner until the job ends; returns the ended job. */
async function runToEnd(job: JobRecord, execute: Executor, options: { maxResumes?: number } = {}): Promise<JobRecord> {
  const runner = startRunner({ store: jobs, execute, workerId: newId("wrk"), concurrency: 1, leaseMs: 600, pollMs: 20, maxResumes: options.maxResumes ?? 3, onEvent: () => undefined, log });
  try {
    return await ended(job.id);
  } finally {
    await runner.stop();
  }
}

/** A job's approval gate in `commands` mode over `store`, with steps through the job's context. */
function gate(ctx: JobContext, store: ApprovalStore = approvals, step: (step: "waiting_for_approval" | "generating") => Promise<void> = (s) => ctx.step(s, 20)) {
  return createApprovalGate({
    store,
    job: { id: ctx.job.id, projectId: ctx.job.projectId },
    mode: async () => "commands",
    readFile: async () => null,
    emit: ctx.emit,
    step,
    watch: () => () => undefined,
    timeoutMs: 600_000,
    pollMs: 20,
  });
}

/** What the user finds after the job ended: nothing pending, the approval closed saying how, and a late answer refused. */
async function expectClosed(job: JobRecord, endedAs: string): Promise<void> {
  expect((await methods.listApprovals({ id: job.id }, auth)).approvals).toEqual([]);
  const [approval] = (await methods.listApprovals({ id: job.id, pending: false }, auth)).approvals;
  expect(approval).toMatchObject({ toolUseId: CALL.id, status: "cancelled", reason: `the generation ended (${endedAs}) before this was answered`, answeredAt: expect.any(String) });
  const late = await methods.answerApproval({ id: job.id, approvalId: approval!.id, decision: "approve" }, auth).then(
    () => null,
    (err: unknown) => err,
  );
  expect(late).toMatchObject({ code: "aborted", message: `approval ${approval!.id} can no longer be answered: the generation ended (${endedAs}) before this was answered` });
  expect(await approvals.beginExecution(approval!.id)).toBe(false);
}

describe("a job that ends while a tool call waits for approval", () => {
  it("cancelled while waiting: the approval is closed even when the gate's own closing of it fails", async () => {
    const job = await queue();
    // The gate's cancel of the approval fails (its database call errs): only the job's end closes it.
    const failingCancel: ApprovalStore = { ...approvals, cancel: async () => Promise.reject(new Error("connection reset")) };
    let asked = false;
    const done = await runToEnd(job, async (ctx) => {
      const waiting = gate(ctx, failingCancel).decide(CALL, INPUT, ctx.signal);
      await waitFor("the approval to be asked", async () => (await approvals.list(ctx.job.id, true)).length > 0, { intervalMs: 20 });
      asked = true;
      await jobs.requestCancel(ctx.job.id);
      await waiting;
      return { status: "completed", summary: "ran", previewUrl: "http://127.0.0.1:1" };
    });
    expect(asked).toBe(true);
    expect(done).toMatchObject({ status: "cancelled" });
    await expectClosed(job, "cancelled");
  });

  it("failing for another reason while a request is pending: the approval is closed with the failure", async () => {
    const job = await queue();
    const done = await runToEnd(job, async (ctx) =>
      gate(ctx, approvals, async (step) => {
        if (step === "waiting_for_approval") throw new Error("the database went away while moving to waiting_for_approval");
      })
        .decide(CALL, INPUT, ctx.signal)
        .then(() => ({ status: "completed", summary: "ran", previewUrl: "http://127.0.0.1:1" })),
    );
    expect(done).toMatchObject({ status: "failed", error: expect.stringContaining("the database went away") });
    await expectClosed(job, "failed");
  });

  it("failed at the resume limit after its runners died while it waited: the approval is closed", async () => {
    const job = await queue();
    // Two runners claim the job and die without a word (their leases lapse): the first had asked.
    const first = (await jobs.claim("wrk_dead_1", 1))!;
    expect(first.id).toBe(job.id);
    await approvals.request({ id: newId("apr"), jobId: job.id, projectId: job.projectId, toolUseId: CALL.id, tool: CALL.name, input: INPUT, subject: { kind: "command", command: INPUT.command, cwd: null, background: false }, timeoutMs: 600_000 });
    await waitFor("the second dead runner's claim", async () => (await jobs.claim("wrk_dead_2", 1))?.id === job.id, { intervalMs: 20 });
    let executed = false;
    const done = await runToEnd(
      job,
      async () => {
        executed = true;
        return { status: "completed", summary: "ran", previewUrl: "http://127.0.0.1:1" };
      },
      { maxResumes: 1 },
    );
    expect(executed).toBe(false);
    expect(done).toMatchObject({ status: "failed", error: expect.stringContaining("gave up after 1 resumes") });
    await expectClosed(job, "failed");
  });
});
