import Anthropic from "@anthropic-ai/sdk";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { loadConfig } from "../lib/config";
import { newId } from "../lib/ids";
import { openTestDatabase, type TestDatabase } from "../test/support/database";
import * as fake from "../test/support/encore-fake";
import { memoryLogger } from "../test/support/kiln";
import { createJobStore, type JobStore } from "./jobs/store";
import { startAiRuntime } from "./runtime";

vi.mock("encore.dev/config", async () => (await import("../test/support/encore-fake")).configModule);
vi.mock("encore.dev/storage/sqldb", async () => (await import("../test/support/encore-fake")).sqldbModule);
vi.mock("encore.dev/api", async () => (await import("../test/support/encore-fake")).apiModule);
vi.mock("encore.dev/log", async () => (await import("../test/support/encore-fake")).logModule);
vi.mock("~encore/clients", async () => (await import("../test/support/encore-fake")).clientsModule);

const OWNER = "usr_owner";
const PROJECT = "prj_1";
let database: TestDatabase;
let store: JobStore;
let wiring: typeof import("./encore-wiring") | undefined;

const project = { id: PROJECT, ownerId: OWNER, name: "p", description: "", workspaceId: null, previewUrl: null, status: "idle", latestJobId: null, createdAt: "", updatedAt: "" };

/** Queues a job the way the ai service does, without going through it. */
async function queueJob(): Promise<string> {
  const job = await store.insert({ id: newId("job"), projectId: PROJECT, ownerId: OWNER, prompt: "build it" });
  return job.id;
}

const statusOf = async (id: string) => (await store.getOwned(id, OWNER)).status;
/** The calls that told the projects service about this job. */
const toldAbout = (jobId: string) => fake.clientCalls.filter((c) => c.endpoint === "recordActivity" && (c.request as { latestJobId?: string }).latestJobId === jobId);

beforeAll(async () => {
  database = await openTestDatabase("ai");
  store = createJobStore(database.pool);
  fake.resetEncoreFake();
  fake.databases.set("ai", fake.connectionStringFor(database.databases.url, database.databases.schema("ai"), database.databases.kind));
  fake.secrets.set("AnthropicAPIKey", "sk-test-not-a-real-key");
  fake.clientHandlers.set("projects.get", async () => project);
});

afterAll(async () => {
  await wiring?.aiRuntime.runner.stop();
  await database.close();
});

describe("the ai service under Encore (a stand-in runtime)", () => {
  it("starts its job runner when the service loads: a job queued before the restart runs with no endpoint called", async () => {
    const waiting = await queueJob();
    wiring = await import("./encore-wiring");
    // The stand-in has no workspace service: the job fails at its first step, and the runner tells the project.
    await expect.poll(() => statusOf(waiting), { timeout: 15_000, interval: 50 }).toBe("failed");
    await expect.poll(() => toldAbout(waiting), { timeout: 5_000, interval: 20 }).toHaveLength(1);
    expect(fake.clientCalls.map((c) => `${c.service}.${c.endpoint}`)).toEqual(["projects.get", "workspace.create", "projects.recordActivity"]);
    // No request's context; the project is read as the job's owner (explicitly), the rest as the service.
    for (const call of fake.clientCalls) expect(call.source).toBeNull();
    expect(fake.clientCalls.map((c) => c.authData)).toEqual([{ userID: OWNER }, undefined, undefined]);
  });

  it("a job queued inside a request runs outside it: the runner's calls carry no request and no user's auth", async () => {
    const request: fake.FakeRequest = { endpoint: "ai.start", authData: { userID: OWNER } };
    const started = await fake.requestContext.run(request, () => wiring!.ai().start({ projectId: PROJECT, prompt: "again" }, { userID: OWNER }));
    await expect.poll(() => statusOf(started.id), { timeout: 15_000, interval: 50 }).toBe("failed");

    const fromEndpoint = fake.clientCalls.find((c) => c.endpoint === "get" && c.source === request);
    expect(fromEndpoint).toBeDefined();
    // The endpoint tells the project once (queued); the runner once more when the job has ended, outside the request.
    await expect.poll(() => toldAbout(started.id), { timeout: 5_000, interval: 20 }).toHaveLength(2);
    expect(toldAbout(started.id)[0]).toMatchObject({ source: request });
    expect(toldAbout(started.id)[1]).toMatchObject({ source: null, authData: undefined });
    const byRunner = fake.clientCalls.filter((c) => c.endpoint === "create");
    expect(byRunner.at(-1)).toMatchObject({ service: "workspace", source: null, authData: undefined });
  });
});

describe("startAiRuntime", () => {
  it("runs its runner in the service's context even when started inside a request", async () => {
    const request: fake.FakeRequest = { endpoint: "ai.get", authData: { userID: "usr_someone_else" } };
    const seen: (fake.FakeRequest | undefined)[] = [];
    const refuse = async (): Promise<never> => {
      seen.push(fake.requestContext.getStore());
      throw new Error("stand-in: nothing to record");
    };
    const { log } = memoryLogger("silent");
    const { runner } = fake.requestContext.run(request, () =>
      startAiRuntime({
        db: database.pool,
        projects: { get: async () => project as never, conversation: refuse, recordActivity: refuse, appendMessage: refuse },
        workspace: {} as never,
        vfs: {} as never,
        anthropic: new Anthropic({ apiKey: "sk-test" }),
        config: { ...loadConfig({}), runnerConcurrency: 1 },
        log,
      }),
    );
    try {
      await wiring?.aiRuntime.runner.stop();
      const job = await queueJob();
      runner.wake();
      await expect.poll(() => statusOf(job), { timeout: 15_000, interval: 50 }).toBe("failed");
      expect(seen.length).toBeGreaterThan(0);
      expect(seen.every((store) => store === undefined)).toBe(true);
    } finally {
      await runner.stop();
    }
  });
});
