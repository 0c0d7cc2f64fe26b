import Anthropic from "@anthropic-ai/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppError } from "../../lib/errors";
import { missingSecret } from "../../lib/startup";
import { newId } from "../../lib/ids";
import { openTestDatabase, type TestDatabase } from "../../test/support/database";
import type { Project } from "../../projects/contract";
import type { GenerationOutcomeData } from "../contract";
import { startFakeAnthropic, text, type FakeAnthropic } from "../../test/fakes/anthropic/server";
import { memoryLogger } from "../../test/support/kiln";
import type { Workspace, WorkspaceApi, WorkspaceStatus } from "../../workspace/contract";
import { createPipeline, type PipelineDeps } from "./pipeline";
import { createProjectState, type ProjectState } from "./project-state";
import { startRunner } from "./runner";
import { createJobStore, type JobRecord, type JobStore } from "./store";

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

function workspaceRow(id: string, status: WorkspaceStatus, lastError: string | null = null): Workspace {
  const now = new Date().toISOString();
  return { id, projectId: "p", status, provider: "local", providerSandboxId: "s", lastError, devPort: 4100, previewUrl: null, template: null, devCommand: null, createdAt: now, updatedAt: now, readyAt: null };
}

/** Stubs of the other services, recording calls; the workspace answers `existing` once (what the job finds), then `statuses` in turn (the last one forever). */
function services(options: { existing?: Workspace; statuses: [WorkspaceStatus, string?][]; template?: string; ensureDevServer?: () => Promise<never> }) {
  const calls: string[] = [];
  let polls = 0;
  const project: Project = { id: "p", name: "p", description: "", status: "new", template: options.template ?? "blank", workspaceId: options.existing?.id ?? null, previewUrl: null, thumbnailUrl: null, latestJobId: null, approvalMode: "auto", createdAt: "", updatedAt: "" };
  const refuse = async (): Promise<never> => {
    throw new Error("not expected in this test");
  };
  const workspace = new Proxy({} as WorkspaceApi, {
    get: (_t, name: string) => {
      if (name === "create") return async () => (calls.push("workspace.create"), workspaceRow("wsp_new", "creating"));
      if (name === "ensureDevServer" && options.ensureDevServer) return options.ensureDevServer;
      if (name === "start") return async () => (calls.push("workspace.start"), workspaceRow(options.existing!.id, "creating"));
      if (name === "get") {
        return async ({ id }: { id: string }) => {
          if (options.existing && id === options.existing.id && !calls.includes("workspace.get")) return (calls.push("workspace.get"), options.existing);
          const [status, reason] = options.statuses[Math.min(polls++, options.statuses.length - 1)]!;
          return workspaceRow(id, status, reason ?? null);
        };
      }
      return refuse;
    },
  });
  const projectState = createProjectState({ store, projects: { recordActivity: async (req) => (calls.push(`project.${req.status ?? "activity"}`), project) }, log });
  const deps: PipelineDeps = {
    projects: { get: async () => project, appendMessage: refuse, conversation: refuse },
    projectState,
    workspace,
    vfs: { writeFiles: refuse, readFile: refuse, backupWorkspace: refuse, restoreWorkspace: refuse, saveThumbnail: refuse },
    anthropic: new Anthropic({ apiKey: "unused", baseURL: "http://127.0.0.1:9" }),
    model: "claude-sonnet-5-5",
    limits: { maxTurns: 1, maxOutputTokens: 100, tokenBudget: 100, wallClockMs: 1000, maxToolOutputChars: 100, compactAboveTokens: 1000, loopGuard: { warnAfter: 3, stopAfter: 5 } },
    workspacePollMs: 20,
    workspaceReadyTimeoutMs: 300,
    checks: { browser: null, commandTimeoutMs: 1000, browserTimeoutMs: 1000, maxFailedCompletions: 3 },
    log,
  };
  return { deps, calls };
}

/** Runs one job to its end; `whileRunning` gets its id (e.g. to cancel it) and runs beside it. */
async function runOne(deps: PipelineDeps, whileRunning?: (jobId: string) => Promise<void>): Promise<JobRecord> {
  const job = await store.insert({ id: newId("job"), projectId: newId("prj"), ownerId: "usr_1", prompt: "build" });
  const runner = startRunner({ store, execute: createPipeline(deps), workerId: newId("wrk"), concurrency: 1, leaseMs: 5000, pollMs: 20, maxResumes: 3, onEvent: () => undefined, settle: (projectId) => (deps.projectState as ProjectState).settle(projectId), log });
  const beside = whileRunning?.(job.id);
  try {
    for (;;) {
      const current = (await store.get(job.id))!;
      if (["completed", "failed", "cancelled"].includes(current.status)) {
        await beside;
        return current;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    await runner.stop();
  }
}

describe("the early preview", () => {
  it.each([
    [new AppError("unavailable", "the sandbox's toolbox does not answer"), "the dev server could not be started: the sandbox's toolbox does not answer"],
    [new Error("connect ECONNREFUSED 10.0.0.5:5432 password=hunter2"), "the dev server could not be started: an internal error (the server's log has it)"],
  ])("says in the stream when the template's dev server cannot be started, in words safe to show (%s)", async (error, problem) => {
    const { deps } = services({ statuses: [["running"]], template: "vite-react", ensureDevServer: async () => Promise.reject(error) });
    const job = await runOne(deps);
    const said = (await store.eventsAfter(job.id, 0)).filter((e) => e.type === "workspace").map((e) => e.data);
    expect(said).toEqual([{ action: "dev_server_not_answering", problem, logTail: "" }]);
  });
});

describe("preparing and waiting for the workspace", () => {
  it("fails, saying how long it waited, when the workspace never becomes ready", async () => {
    const { deps, calls } = services({ statuses: [["creating"]] });
    const job = await runOne(deps);
    expect(job.status).toBe("failed");
    expect(job.error).toBe("workspace wsp_new was not ready after waiting 0.3 s (still creating)");
    expect(calls).toEqual(["workspace.create", "project.activity", "project.failed"]);
  });

  it("fails with the workspace's own reason when it goes into error", async () => {
    const { deps } = services({ statuses: [["creating"], ["error", "Sandbox failed to start: image pull back-off"]] });
    const job = await runOne(deps);
    expect(job).toMatchObject({ status: "failed", error: "workspace wsp_new failed: Sandbox failed to start: image pull back-off" });
    const steps = (await store.eventsAfter(job.id, 0)).filter((e) => e.type === "step").map((e) => e.data.step);
    expect(steps).toEqual(["preparing_workspace", "waiting_for_workspace"]);
  });

  it("looks at the workspace at once and then backs off: a workspace ready in milliseconds costs no fixed poll", async () => {
    const { deps } = services({ statuses: [["creating"], ["creating"], ["running"]] });
    // With the old fixed poll, two looks at "creating" cost two full periods (20 s here) before the third.
    const slowPoll = { ...deps, workspacePollMs: 10_000, workspaceReadyTimeoutMs: 60_000 };
    const started = Date.now();
    await runOne(slowPoll);
    const waited = Date.now() - started;
    expect(waited).toBeLessThan(5_000);
  });

  it("starts a stopped workspace rather than creating a new one", async () => {
    const { deps, calls } = services({ existing: workspaceRow("wsp_old", "stopped"), statuses: [["error", "stop here"]] });
    await runOne(deps);
    expect(calls).toContain("workspace.start");
    expect(calls).not.toContain("workspace.create");
  });

  it("starts an archived workspace too: archived is restorable, not gone", async () => {
    const { deps, calls } = services({ existing: workspaceRow("wsp_old", "archived"), statuses: [["error", "stop here"]] });
    await runOne(deps);
    expect(calls).toContain("workspace.start");
    expect(calls).not.toContain("workspace.create");
  });

  it("treats a workspace being restored as live: it waits for it instead of re-creating it", async () => {
    const { deps, calls } = services({ existing: workspaceRow("wsp_old", "restoring"), statuses: [["error", "stop here"]] });
    const job = await runOne(deps);
    expect(job.error).toBe("workspace wsp_old failed: stop here");
    expect(calls).not.toContain("workspace.create");
    expect(calls).not.toContain("workspace.start");
  });
});

describe("looking at the project's workspace", () => {
  /** The workspace service failing its first `failures` looks with `error`, then answering as before. */
  function flaky(deps: PipelineDeps, failures: number, error: () => Error) {
    let failed = 0;
    const get = deps.workspace.get;
    deps.workspace = new Proxy(deps.workspace, { get: (target, name) => (name === "get" ? (req: { id: string }) => (failed++ < failures ? Promise.reject(error()) : get(req)) : Reflect.get(target, name)) });
  }

  it("retries an error other than not_found and goes on with the live workspace: no re-create, no restore", async () => {
    const { deps, calls } = services({ existing: workspaceRow("wsp_old", "stopped"), statuses: [["error", "stop here"]] });
    flaky(deps, 2, () => new Error("connect ECONNRESET"));
    const job = await runOne(deps);
    expect(job.error).toBe("workspace wsp_old failed: stop here");
    expect(calls).toContain("workspace.start");
    expect(calls).not.toContain("workspace.create");
  });

  it("fails the step with the error's reason when it keeps failing, never re-creating the sandbox", async () => {
    const { deps, calls } = services({ existing: workspaceRow("wsp_old", "running"), statuses: [["running"]] });
    flaky(deps, 100, () => new Error("connect ECONNRESET"));
    const job = await runOne(deps);
    expect(job).toMatchObject({ status: "failed", error: "could not look at workspace wsp_old (4 tries): connect ECONNRESET" });
    expect(calls).not.toContain("workspace.create");
  });

  it("re-creates the workspace when the service says it is not found", async () => {
    const { deps, calls } = services({ existing: workspaceRow("wsp_old", "running"), statuses: [["error", "stop here"]] });
    flaky(deps, 1, () => new AppError("not_found", "workspace \"wsp_old\" not found"));
    await runOne(deps);
    expect(calls).toContain("workspace.create");
  });
});

describe("waiting for an archived sandbox being restored", () => {
  const workspaceEvents = async (jobId: string) => (await store.eventsAfter(jobId, 0)).filter((e) => e.type === "workspace").map((e) => e.data);

  it("says once that it restores, does not count the restore against the wait, and backs off while it lasts", async () => {
    // Restoring for about 1.6 s (25 ms doubling), more than five times the 0.3 s the job waits for a workspace.
    const { deps } = services({ existing: workspaceRow("wsp_old", "archived"), statuses: [...Array<[WorkspaceStatus]>(7).fill(["restoring"]), ["error", "stop here"]] });
    const looks: number[] = [];
    const get = deps.workspace.get;
    deps.workspace = new Proxy(deps.workspace, { get: (target, name) => (name === "get" ? (req: { id: string }) => (looks.push(Date.now()), get(req)) : Reflect.get(target, name)) });
    const job = await runOne(deps);
    // The old wait failed here with "was not ready after waiting 0.3 s (still restoring)".
    expect(job.error).toBe("workspace wsp_old failed: stop here");
    expect(await workspaceEvents(job.id)).toEqual([
      { action: "starting", workspaceId: "wsp_old", status: "archived" },
      { action: "restoring", workspaceId: "wsp_old" },
    ]);
    // Past workspacePollMs (20 ms): a restore of minutes is looked at less and less often.
    const gaps = looks.slice(1).map((at, i) => at - looks[i]!);
    expect(Math.max(...gaps)).toBeGreaterThan(300);
  });

  it("counts the wait again from when the restore ends", async () => {
    const { deps } = services({ existing: workspaceRow("wsp_old", "archived"), statuses: [...Array<[WorkspaceStatus]>(6).fill(["restoring"]), ["creating"]] });
    const started = Date.now();
    const job = await runOne(deps);
    expect(job.error).toBe("workspace wsp_old was not ready after waiting 0.3 s (still creating)");
    expect(Date.now() - started).toBeGreaterThan(600);
  });

  it("is cancelled at once while the restore lasts", async () => {
    const { deps, calls } = services({ existing: workspaceRow("wsp_old", "archived"), statuses: [["restoring"]] });
    let asked = 0;
    const job = await runOne(deps, async (jobId) => {
      await expect.poll(() => workspaceEvents(jobId), { timeout: 5000 }).toHaveLength(2);
      // Long enough for the pause between looks to have grown to seconds.
      await new Promise((resolve) => setTimeout(resolve, 2000));
      asked = Date.now();
      await store.requestCancel(jobId);
    });
    expect(job.status).toBe("cancelled");
    expect(Date.now() - asked).toBeLessThan(2500);
    // The project does not stay `generating` after its job was cancelled.
    expect(calls.at(-1)).toBe("project.cancelled");
  });
});

/**
 * Makes `deps` finish a resumed job against the fake model: its summary goes to the conversation, its
 * backup answers. Returns a job taken over from a runner that died after saving `messages` at step generating.
 */
async function resumedJob(deps: PipelineDeps, model: FakeAnthropic, messages: Anthropic.MessageParam[], agentMs = 0): Promise<JobRecord> {
  deps.anthropic = new Anthropic({ apiKey: "sk-test", baseURL: model.baseURL, maxRetries: 0 });
  deps.limits = { ...deps.limits, maxTurns: 10, tokenBudget: 1_000_000, wallClockMs: 4000 };
  deps.projects = { ...deps.projects, appendMessage: async (req) => ({ seq: 1, role: req.role, content: req.content, jobId: req.jobId ?? null, createdAt: "" }) };
  deps.vfs = { ...deps.vfs, backupWorkspace: async () => ({ snapshotId: "snp_1", files: 0, bytes: 0 }) as never };
  const job = await store.insert({ id: newId("job"), projectId: newId("prj"), ownerId: "usr_1", prompt: "build" });
  while ((await store.claim("wrk_dead", 1))?.id !== job.id);
  await store.saveTurn(job.id, "wrk_dead", [], { systemVersion: "v1", turns: 1, messages, compactions: 0, outcome: null });
  await database.pool.query("UPDATE generation_jobs SET agent_ms = $2, step = 'generating' WHERE id = $1", [job.id, agentMs]);
  return job;
}

/** Runs the job a runner takes over to its end. */
async function takeOver(deps: PipelineDeps, jobId: string): Promise<JobRecord> {
  const runner = startRunner({ store, execute: createPipeline(deps), workerId: newId("wrk"), concurrency: 1, leaseMs: 5000, pollMs: 20, maxResumes: 3, onEvent: () => undefined, log });
  try {
    await expect.poll(async () => (await store.get(jobId))?.status, { timeout: 10_000 }).toMatch(/completed|failed|cancelled/);
  } finally {
    await runner.stop();
  }
  return (await store.get(jobId))!;
}

describe("the time limit of a resumed job", () => {
  it("counts from the job's first start: a job resumed after most of its time was used gets only the rest, and fails naming the limit", async () => {
    const model = await startFakeAnthropic({
      script: async () => {
        await new Promise((resolve) => setTimeout(resolve, 20_000));
        return { content: [text("too late")] };
      },
    });
    try {
      const { deps } = services({ existing: workspaceRow("wsp_old", "running"), statuses: [["running"]] });
      // An earlier attempt used 3.5 s of the 4 s with its agent running, saved its conversation and died.
      const job = await resumedJob(deps, model, [{ role: "user", content: "build" }], 3500);
      const done = await takeOver(deps, job.id);
      expect(done).toMatchObject({ status: "failed", attempt: 2 });
      expect(done.error).toBe("stopped after 4 s (the time limit, counted over every attempt of this generation: this attempt had 1 s left)");
      // The model was asked once and cut off by the rest of the limit, not given 4 s again.
      expect(model.requests).toHaveLength(1);
      expect(done.finishedAt!.getTime() - done.startedAt!.getTime()).toBeLessThan(4000);
      // The agent's time of this attempt went to the job too.
      expect(done.agentMs).toBeGreaterThanOrEqual(3500);
    } finally {
      await model.close();
    }
  });
});

describe("the background processes of a resumed job", () => {
  it("starts again those the restart took, records their new ids and tells the model; one the workspace cannot tell about is left alone", async () => {
    const model = await startFakeAnthropic({ script: [{ content: [text("Checked.")] }] });
    try {
      const { deps } = services({ existing: workspaceRow("wsp_old", "running"), statuses: [["running"]] });
      const started: unknown[] = [];
      const stub = deps.workspace;
      deps.workspace = new Proxy(stub, {
        get: (target, name) => {
          if (name === "processLogs") {
            return async ({ processId }: { processId: string }) => {
              if (processId === "proc_api") throw new AppError("not_found", `process "${processId}" not found`);
              throw new AppError("unavailable", "the sandbox's toolbox does not answer");
            };
          }
          if (name === "startProcess") return async (req: unknown) => (started.push(req), { id: "wsp_old", processId: "proc_api2" });
          return Reflect.get(target, name);
        },
      });
      const job = await resumedJob(deps, model, [
        { role: "user", content: "build" },
        { role: "assistant", content: [{ type: "tool_use", id: "toolu_1", name: "execute_command", input: { command: "node api.js", background: true } }] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: "started in the background (process proc_api). First output:\nlistening" }] },
      ]);
      await store.recordProcess(job.id, "wrk_dead", { name: "background-1", command: "node api.js", cwd: null, processId: "proc_api" });
      await store.recordProcess(job.id, "wrk_dead", { name: "background-2", command: "npm run watch", cwd: "web", processId: "proc_watch" });
      const done = await takeOver(deps, job.id);
      expect(done.error).toBe("the agent stopped without finishing: Checked.");
      // Only the one the workspace says is gone is started again, with its name, command and directory.
      expect(started).toEqual([{ id: "wsp_old", name: "background-1", command: "node api.js" }]);
      expect(done.processes.map((p) => [p.name, p.processId])).toEqual([["background-2", "proc_watch"], ["background-1", "proc_api2"]]);
      const first = model.requests[0]!.body!.messages.at(-1)!;
      const note = (first.content as Anthropic.ContentBlockParam[]).at(-1) as Anthropic.TextBlockParam;
      expect(note.text).toBe(
        [
          "The server running this generation restarted. Background processes you had started:",
          '- "node api.js" (process proc_api): it was gone after the restart; started again as process proc_api2',
          "- \"npm run watch\" (process proc_watch): could not be checked (the sandbox's toolbox does not answer); it may not be running",
          "Their earlier output is gone.",
        ].join("\n"),
      );
    } finally {
      await model.close();
    }
  });
});

describe("a failure of the server's own configuration", () => {
  const finalEvent = async (jobId: string) => (await store.eventsAfter(jobId, 0)).at(-1)!;

  it.each([
    [{ status: 401, type: "authentication_error", message: "invalid x-api-key" }, "misconfigured"],
    [{ status: 403, type: "permission_error", message: "your API key does not have access to this model" }, "misconfigured"],
    [{ status: 404, type: "not_found_error", message: "model: claude-nope" }, "misconfigured"],
    [{ status: 400, type: "invalid_request_error", message: "Your credit balance is too low to access the Anthropic API" }, "misconfigured"],
    [{ status: 500, type: "api_error", message: "Internal server error" }, null],
    [{ status: 400, type: "invalid_request_error", message: "messages: text content blocks must be non-empty" }, null],
  ])("is marked as such when the model API answers %o: the job and its failed event say errorKind %s", async (error, kind) => {
    const model = await startFakeAnthropic({ script: [{ error: { ...error, shouldRetry: false } }] });
    try {
      const { deps } = services({ existing: workspaceRow("wsp_old", "running"), statuses: [["running"]] });
      const job = await resumedJob(deps, model, [{ role: "user", content: "build" }]);
      const done = await takeOver(deps, job.id);
      expect(done).toMatchObject({ status: "failed", error: `the model API failed (${error.status} ${error.type}): ${error.message}`, errorKind: kind });
      const final = await finalEvent(job.id);
      expect(final.type).toBe("failed");
      expect((final.data as GenerationOutcomeData).errorKind).toBe(kind ?? undefined);
    } finally {
      await model.close();
    }
  });

  it("is marked as such when another service says it is not configured, and a workspace look that says so is not retried", async () => {
    const { deps } = services({ statuses: [["running"]] });
    const unconfigured = () => missingSecret("sandbox", "DaytonaAPIKey", "KILN_SANDBOX=daytona runs every sandbox on Daytona");
    deps.workspace = new Proxy(deps.workspace, { get: (target, name) => (name === "create" ? async () => Promise.reject(unconfigured()) : Reflect.get(target, name)) });
    const created = await runOne(deps);
    expect(created).toMatchObject({ status: "failed", errorKind: "misconfigured", error: expect.stringMatching(/^the DaytonaAPIKey secret is not set/) });
    expect((await finalEvent(created.id)).data).toMatchObject({ status: "failed", errorKind: "misconfigured" });

    const existing = services({ existing: workspaceRow("wsp_old", "running"), statuses: [["running"]] }).deps;
    let looks = 0;
    // Encore hands another service's error on as its code, message and details: no NotConfigured instance.
    const answer = unconfigured().toBody();
    existing.workspace = new Proxy(existing.workspace, { get: (target, name) => (name === "get" ? async () => (looks++, Promise.reject(Object.assign(new Error(answer.message), answer))) : Reflect.get(target, name)) });
    const looked = await runOne(existing);
    expect(looked).toMatchObject({ status: "failed", errorKind: "misconfigured", error: expect.stringMatching(/^could not look at workspace wsp_old \(1 tries\): the DaytonaAPIKey secret is not set/) });
    expect(looks).toBe(1);

    // A failure of the workspace itself is the run's, not the configuration's.
    const broken = await runOne(services({ statuses: [["creating"], ["error", "image pull back-off"]] }).deps);
    expect(broken).toMatchObject({ status: "failed", errorKind: null });
  });
});

describe("the dev server of a resumed job", () => {
  it("is started again with the command the workspace remembers, and the preview is announced: the stream goes on with it", async () => {
    const model = await startFakeAnthropic({ script: [{ content: [text("Checked.")] }] });
    try {
      const { deps } = services({ existing: workspaceRow("wsp_old", "running"), statuses: [["running"]] });
      const asked: unknown[] = [];
      const stub = deps.workspace;
      const previewUrl = "http://127.0.0.1:4100/";
      deps.projectState = { ...deps.projectState, preview: async () => undefined };
      deps.workspace = new Proxy(stub, {
        get: (target, name) => {
          // The workspace remembers the dev command the agent's completion had started (the project's template has no starter).
          if (name === "get") return async (req: { id: string }) => ({ ...(await stub.get(req)), devCommand: "node server.js" });
          if (name === "ensureDevServer") return async (req: unknown) => (asked.push(req), { ok: true, previewUrl, previewToken: null, processId: "proc_dev", problem: null, logTail: "" });
          return Reflect.get(target, name);
        },
      });
      const job = await resumedJob(deps, model, [{ role: "user", content: "build" }]);
      const done = await takeOver(deps, job.id);
      expect(done.attempt).toBe(2);
      expect(asked).toEqual([{ id: "wsp_old", command: "node server.js" }]);
      const events = await store.eventsAfter(job.id, 0);
      expect(events.find((e) => e.type === "preview_ready")?.data).toEqual({ url: previewUrl, token: null });
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    } finally {
      await model.close();
    }
  });
});
