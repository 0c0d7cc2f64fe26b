import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../lib/ids";
import type { AuthData } from "../../lib/routes";
import { createProjectsService, type ProjectsService } from "../../projects/service";
import { createUser } from "../../projects/users";
import { openTestDatabase, type TestDatabase } from "../../test/support/database";
import { memoryLogger } from "../../test/support/kiln";
import type { AiApi } from "../contract";
import { createAiService } from "../service";
import type { LiveEvents } from "./live";
import { createProjectState, type ProjectState } from "./project-state";
import { startRunner, type Executor, type Runner } from "./runner";
import { createJobStore, type JobStore } from "./store";

let aiDb: TestDatabase;
let projectsDb: TestDatabase;
let store: JobStore;
let projects: ProjectsService;
let state: ProjectState;
let ai: AiApi;
let auth: AuthData;
let runner: Runner | null = null;
const { log } = memoryLogger("warn");
const PREVIEW = "http://127.0.0.1:4100";

beforeAll(async () => {
  [aiDb, projectsDb] = await Promise.all([openTestDatabase("ai"), openTestDatabase("projects")]);
  store = createJobStore(aiDb.pool);
  const unused = async (): Promise<never> => {
    throw new Error("not used here");
  };
  projects = createProjectsService({ db: projectsDb.pool, workspace: new Proxy({} as never, { get: () => unused }), vfs: new Proxy({} as never, { get: () => unused }), log });
  state = createProjectState({ store, projects, log });
  ai = createAiService({
    db: aiDb.pool,
    projects,
    projectState: state,
    workspace: { health: unused },
    vfs: { health: unused },
    live: { notify: () => undefined } as unknown as LiveEvents,
    wakeRunner: () => undefined,
    cancelRunning: (jobId) => runner?.cancel(jobId),
    model: "claude-sonnet-5-5",
    sseHeartbeatMs: 15_000,
    log,
  });
  auth = { userID: await createUser(projectsDb.pool, "state") };
});
afterAll(async () => {
  await runner?.stop();
  await Promise.all([aiDb?.close(), projectsDb?.close()]);
});

function run(execute: Executor, overrides: Partial<Parameters<typeof startRunner>[0]> = {}): Runner {
  runner = startRunner({ store, execute, workerId: newId("wrk"), concurrency: 1, leaseMs: 500, pollMs: 20, maxResumes: 3, onEvent: () => undefined, settle: state.settle, log, ...overrides });
  return runner;
}

async function stopRunner(): Promise<void> {
  await runner?.stop();
  runner = null;
}

const card = async (projectId: string) => {
  const { status, previewUrl, latestJobId } = await projects.get({ id: projectId }, auth);
  return { status, previewUrl, latestJobId };
};

const ended = (jobId: string) => expect.poll(async () => (await store.get(jobId))?.status, { timeout: 10_000 });

/** An executor whose job tells its preview, then completes. */
const completing: Executor = async ({ job }) => {
  await state.preview(job.projectId, PREVIEW);
  return { status: "completed", summary: "built", previewUrl: PREVIEW };
};

/** A project whose first generation completed: `ready` with its preview. */
async function readyProject(): Promise<{ projectId: string; firstJobId: string }> {
  const { id: projectId } = await projects.create({ name: "Stateful" }, auth);
  const first = await ai.start({ projectId, prompt: "build it" }, auth);
  run(completing);
  await ended(first.id).toBe("completed");
  await stopRunner();
  expect(await card(projectId)).toEqual({ status: "ready", previewUrl: PREVIEW, latestJobId: first.id });
  return { projectId, firstJobId: first.id };
}

describe("a project's state follows from its generations", () => {
  it("is generating from the moment a job is queued, and a job cancelled while queued gives back the state from before: ready with its preview", async () => {
    const { projectId, firstJobId } = await readyProject();
    const second = await ai.start({ projectId, prompt: "change it" }, auth);
    expect((await card(projectId)).status).toBe("generating");
    await ai.cancel({ id: second.id }, auth);
    expect(await card(projectId)).toEqual({ status: "ready", previewUrl: PREVIEW, latestJobId: second.id });
    // The completed generation shows its project's preview (the one table that holds it), the cancelled one none.
    expect((await ai.get({ id: firstJobId }, auth)).previewUrl).toBe(PREVIEW);
    expect((await ai.get({ id: second.id }, auth)).previewUrl).toBeNull();
  });

  it("is new again when its only job is cancelled before it started", async () => {
    const { id: projectId } = await projects.create({ name: "Never built" }, auth);
    const job = await ai.start({ projectId, prompt: "build it" }, auth);
    await ai.cancel({ id: job.id }, auth);
    expect(await card(projectId)).toEqual({ status: "new", previewUrl: null, latestJobId: job.id });
    expect((await store.eventsAfter(job.id, 0)).map((e) => [e.seq, e.type, e.data])).toEqual([
      [1, "queued", { status: "queued", step: "queued", progress: 0 }],
      [2, "cancelled", { status: "cancelled", error: "cancelled by the user before it started" }],
    ]);
  });

  it("is cancelled, keeping its preview, when a running job is cancelled", async () => {
    const { projectId } = await readyProject();
    const job = await ai.start({ projectId, prompt: "change it" }, auth);
    run(async ({ signal, step }) => {
      await step("generating", 20);
      await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
      return { status: "failed", error: "stopped" };
    });
    await expect.poll(async () => (await store.get(job.id))?.step).toBe("generating");
    expect((await card(projectId)).status).toBe("generating");
    await ai.cancel({ id: job.id }, auth);
    await ended(job.id).toBe("cancelled");
    await stopRunner();
    expect(await card(projectId)).toEqual({ status: "cancelled", previewUrl: PREVIEW, latestJobId: job.id });
  });

  it("is failed, not generating, when the runner that took a job over fails it", async () => {
    const { projectId } = await readyProject();
    const job = await ai.start({ projectId, prompt: "change it" }, auth);
    await store.claim("wrk_dead", 1);
    await store.setStep(job.id, "wrk_dead", "generating", 40);
    expect((await card(projectId)).status).toBe("generating");
    run(async () => ({ status: "failed", error: "the workspace is gone" }));
    await ended(job.id).toBe("failed");
    await stopRunner();
    expect(await card(projectId)).toEqual({ status: "failed", previewUrl: PREVIEW, latestJobId: job.id });
  });

  it("is failed when its job was resumed more times than allowed", async () => {
    const { projectId } = await readyProject();
    const job = await ai.start({ projectId, prompt: "change it" }, auth);
    for (let i = 0; i < 3; i++) {
      await store.claim(`wrk_dead${i}`, 1);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    run(completing, { maxResumes: 2 });
    await ended(job.id).toBe("failed");
    await stopRunner();
    expect((await store.get(job.id))?.error).toContain("gave up after 2 resumes");
    expect(await card(projectId)).toEqual({ status: "failed", previewUrl: PREVIEW, latestJobId: job.id });
  });

  it("is caught up by the sweep when the runner died between ending the job and telling the project", async () => {
    const { projectId } = await readyProject();
    const job = await ai.start({ projectId, prompt: "change it" }, auth);
    await store.claim("wrk_dies", 60_000);
    // The job's end is written, then the process dies before the project is told.
    await store.finish(job.id, "wrk_dies", { status: "failed", error: "boom" });
    // The final event was stored with the end, so the job's streams still close.
    expect((await store.eventsAfter(job.id, 0)).map((e) => [e.type, e.data])).toEqual([
      ["queued", { status: "queued", step: "queued", progress: 0 }],
      ["failed", { status: "failed", error: "boom" }],
    ]);
    expect((await card(projectId)).status).toBe("generating");
    expect(await state.sweep(0)).toBeGreaterThanOrEqual(1);
    expect(await card(projectId)).toEqual({ status: "failed", previewUrl: PREVIEW, latestJobId: job.id });
    // Told once: the next sweep has nothing left for this project.
    expect(await store.unsyncedProjects(0, 100)).not.toContain(projectId);
  });

  it("ignores a late telling older than the state recorded", async () => {
    const { projectId, firstJobId } = await readyProject();
    const { version } = await store.projectState(projectId);
    await projects.recordActivity({ id: projectId, status: "generating", latestJobId: "job_stale", statusVersion: version });
    expect(await card(projectId)).toEqual({ status: "ready", previewUrl: PREVIEW, latestJobId: firstJobId });
    for (const statusVersion of [0, -1, 1.5]) {
      await expect(projects.recordActivity({ id: projectId, status: "failed", statusVersion })).rejects.toMatchObject({ code: "invalid_argument", message: expect.stringContaining("statusVersion") });
    }
  });
});
