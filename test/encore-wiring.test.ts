/**
 * Empty secrets and dependencies that are not up yet, under Encore (issue 17 item 5): the adapter
 * files and api.ts run on a stand-in for the Encore runtime (support/encore-fake.ts), so what is
 * checked is our code's answer; Encore's own handling of it is not.
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { MongoClient } from "mongodb";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { createJobStore } from "../ai/jobs/store";
import { newId } from "../lib/ids";
import type { ServiceHealth } from "../lib/health";
import { BlobStore, sha256Hex } from "../vfs/blobs";
import { openCollections } from "../vfs/collections";
import { startFakeMongo, type FakeMongo } from "./fakes/mongo/server";
import { openTestDatabase, type TestDatabase } from "./support/database";
import * as fake from "./support/encore-fake";
import { searchableTempDir } from "./support/isolation";

vi.mock("encore.dev", async () => (await import("./support/encore-fake")).rootModule);
vi.mock("encore.dev/config", async () => (await import("./support/encore-fake")).configModule);
vi.mock("encore.dev/storage/sqldb", async () => (await import("./support/encore-fake")).sqldbModule);
vi.mock("encore.dev/api", async () => (await import("./support/encore-fake")).apiModule);
vi.mock("encore.dev/cron", async () => (await import("./support/encore-fake")).cronModule);
vi.mock("encore.dev/log", async () => (await import("./support/encore-fake")).logModule);
vi.mock("~encore/clients", async () => (await import("./support/encore-fake")).clientsModule);
vi.mock("~encore/auth", async () => (await import("./support/encore-fake")).authModule);

const OWNER = { userID: "usr_owner" };
let workspaceDb: TestDatabase;
let aiDb: TestDatabase;
const env = { ...process.env };

beforeAll(async () => {
  workspaceDb = await openTestDatabase("workspace");
  aiDb = await openTestDatabase("ai");
});
afterAll(async () => {
  await workspaceDb.close();
  await aiDb.close();
});

beforeEach(async () => {
  vi.resetModules();
  fake.resetEncoreFake();
  process.env = { ...env, KILN_SANDBOX_ISOLATION: "none", KILN_DATA_DIR: await searchableTempDir("kiln-encore-") };
  for (const [name, db] of [["workspace", workspaceDb], ["ai", aiDb]] as const) {
    fake.databases.set(name, fake.connectionStringFor(db.databases.url, db.databases.schema(name), db.databases.kind));
  }
});

/** Calls an endpoint as Encore would route it, from inside a request of the owner; resolves with its value or its APIError. */
const asOwner = <T>(endpoint: string, run: () => Promise<T>) => fake.requestContext.run({ endpoint, authData: OWNER }, () => run().catch((err: unknown) => err));

const check = (health: ServiceHealth, name: string) => health.checks.find((c) => c.name === name);

describe("an empty secret under Encore: health names it, every endpoint answers unavailable with the same words", () => {
  it("MongoDBURI: the vfs is down, not a 500", async () => {
    const api = await import("../vfs/api");
    const health = await api.health();
    expect(health.status).toBe("down");
    const mongodb = check(health, "mongodb")!;
    expect(mongodb).toMatchObject({ status: "fail" });
    expect(mongodb.detail).toMatch(/^the MongoDBURI secret is not set \(the vfs keeps every project file in MongoDB GridFS\): set it with `encore secret set --type local MongoDBURI`/);
    for (const answer of [
      await asOwner("vfs.listFiles", () => api.listFiles({ projectId: "prj_1" })),
      await asOwner("vfs.writeFiles", () => api.writeFiles({ projectId: "prj_1", files: [] })),
      await api.sweepAll().catch((err: unknown) => err),
    ]) {
      expect(answer).toMatchObject({ code: "unavailable", message: mongodb.detail });
    }
  });

  it("DaytonaAPIKey with KILN_SANDBOX=daytona: the workspace is down naming it", async () => {
    process.env.KILN_SANDBOX = "daytona";
    const api = await import("../workspace/api");
    const health = await api.health();
    expect(health).toMatchObject({ service: "workspace", status: "down" });
    const sandbox = check(health, "sandbox")!;
    expect(sandbox.detail).toMatch(/^the DaytonaAPIKey secret is not set \(KILN_SANDBOX=daytona runs every sandbox on Daytona\)/);
    expect(await api.create({ projectId: "prj_1" }).catch((err: unknown) => err)).toMatchObject({ code: "unavailable", message: sandbox.detail });
  });

  it("AnthropicAPIKey: the ai service reports it, starting a generation refuses with it, and no runner takes jobs", async () => {
    const store = createJobStore(aiDb.pool);
    const waiting = await store.insert({ id: newId("job"), projectId: "prj_1", ownerId: OWNER.userID, prompt: "x" });
    fake.clientHandlers.set("projects.get", async () => ({ id: "prj_1" }));
    const api = await import("../ai/api");
    const health = await api.health();
    expect(health.status).toBe("down");
    const anthropic = check(health, "anthropic")!;
    expect(anthropic.detail).toMatch(/^the AnthropicAPIKey secret is not set \(every generation calls Claude with it\)/);
    expect(await asOwner("ai.start", () => api.start({ projectId: "prj_1", prompt: "build" }))).toMatchObject({ code: "unavailable", message: anthropic.detail });
    // What needs no model still answers.
    expect(await asOwner("ai.get", () => api.get({ id: waiting.id }))).toMatchObject({ id: waiting.id, status: "queued" });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await store.getOwned(waiting.id, OWNER.userID)).status).toBe("queued");
  });
});

describe("a dependency that is not up yet under Encore: retried, reported meanwhile, never cached as failed", () => {
  let mongo: FakeMongo | undefined;
  afterAll(async () => mongo?.close());

  it("the vfs waits for MongoDB: down with the reason while it is unreachable, up once it answers", async () => {
    const probe = await startFakeMongo();
    const port = Number(new URL(probe.uri).port);
    await probe.close();
    fake.secrets.set("MongoDBURI", `mongodb://127.0.0.1:${port}/?directConnection=true`);
    const api = await import("../vfs/api");

    const before = await api.health();
    expect(before.status).toBe("down");
    expect(check(before, "startup")?.detail).toMatch(/^the vfs service is still starting: /);
    expect(await asOwner("vfs.listFiles", () => api.listFiles({ projectId: "prj_1" }))).toMatchObject({ code: "unavailable" });
    expect(fake.logLines.some((l) => l.level === "warn" && l.message === "the vfs service could not start yet; retrying")).toBe(true);

    mongo = await startFakeMongo({ port });
    await expect.poll(async () => check(await api.health(), "mongodb")?.status, { timeout: 20_000, interval: 200 }).toBe("warn");
    expect(check(await api.health(), "startup")).toBeUndefined();
  }, 40_000);

  it("the workspace service retries a provider that could not start, instead of failing for good", async () => {
    const dataDir = process.env.KILN_DATA_DIR!;
    await rm(dataDir, { recursive: true, force: true });
    await writeFile(dataDir, "a file where the data directory should be");
    const api = await import("../workspace/api");

    const before = await api.health();
    expect(check(before, "startup")?.detail).toMatch(/^the workspace service is still starting: .*(EEXIST|ENOTDIR)/);

    await rm(dataDir);
    await mkdir(join(dataDir, "sandboxes"), { recursive: true });
    await expect.poll(async () => check(await api.health(), "startup"), { timeout: 10_000, interval: 100 }).toBeUndefined();
    expect(check(await api.health(), "postgres")?.status).toBe("ok");
  }, 20_000);
});

describe("the blob sweep under Encore", () => {
  it("is a cron job every hour on an endpoint without params, which sweeps every project's blobs unused for an hour", async () => {
    const mongo = await startFakeMongo();
    const client = new MongoClient(mongo.uri);
    try {
      fake.secrets.set("MongoDBURI", mongo.uri);
      process.env.KILN_MONGODB_DATABASE = "kiln_sweep";
      const api = await import("../vfs/api");
      const job = fake.cronJobs.filter((j) => j.id === "sweep-unused-blobs").at(-1);
      expect(job?.options).toMatchObject({ every: "1h", endpoint: api.sweepAll });

      const c = openCollections(client.db("kiln_sweep"));
      const blobs = new BlobStore(c);
      const stale = Buffer.from("nothing references this any more");
      await blobs.ensure("prj_old", [{ sha256: sha256Hex(stale), bytes: stale }]);
      await c.blobFiles.updateMany({ "metadata.projectId": "prj_old" }, { $set: { "metadata.usedAt": new Date(Date.now() - 2 * 3600_000) } });
      const fresh = Buffer.from("a write in progress may still point at this");
      await blobs.ensure("prj_new", [{ sha256: sha256Hex(fresh), bytes: fresh }]);

      expect(await api.sweepAll()).toEqual({ deletedBlobs: 1, deletedBytes: stale.length });
      expect(await c.blobFiles.countDocuments({})).toBe(1);
    } finally {
      await client.close();
      await mongo.close();
    }
  });
});
