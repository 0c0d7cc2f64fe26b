import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashToken } from "../projects/tokens";
import { bootstrapLocalUser } from "../projects/users";
import type { ProjectsApi } from "../projects/contract";
import { client, type TestClient } from "./support/http";
import { startTestKiln, type TestKiln } from "./support/kiln";

let kiln: TestKiln;
let alice: TestClient;
let bob: TestClient;
let aliceToken: string;
let bobToken: string;
const responses: string[] = [];

beforeAll(async () => {
  kiln = await startTestKiln();
  ({ token: aliceToken } = await kiln.createUser("alice"));
  ({ token: bobToken } = await kiln.createUser("bob"));
  alice = client(kiln.url, aliceToken, responses);
  bob = client(kiln.url, bobToken, responses);
});
afterAll(async () => {
  await kiln?.close();
});

const projectsImpl = () => kiln.kiln.services.find((s) => s.name === "projects")!.impl as ProjectsApi;

describe("projects over HTTP", () => {
  it("creates, gets, lists, updates and deletes a project", async () => {
    const created = await alice.call("POST", "/projects", { name: "  Todo app  ", description: "A list" });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ name: "Todo app", description: "A list", status: "new", workspaceId: null, previewUrl: null, latestJobId: null });
    const id = created.body.id;
    expect((await alice.call("GET", `/projects/${id}`)).body).toEqual(created.body);
    expect((await alice.call("GET", "/projects")).body.projects.map((p: { id: string }) => p.id)).toContain(id);
    const renamed = await alice.call("PATCH", `/projects/${id}`, { name: "Todos" });
    expect(renamed.body).toMatchObject({ id, name: "Todos", description: "A list" });
    expect(Date.parse(renamed.body.updatedAt)).toBeGreaterThanOrEqual(Date.parse(created.body.updatedAt));
    expect((await alice.call("DELETE", `/projects/${id}`)).status).toBe(200);
    expect((await alice.call("GET", `/projects/${id}`)).status).toBe(404);
    expect((await alice.call("GET", "/projects")).body.projects.map((p: { id: string }) => p.id)).not.toContain(id);
  });

  it("names a project from its description (the first prompt) when it is given no name", async () => {
    const created = await alice.call("POST", "/projects", { description: "Build me a todo list with dark mode. It saves to localStorage." });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ name: "Todo list with dark mode", description: "Build me a todo list with dark mode. It saves to localStorage." });
    expect((await alice.call("POST", "/projects", { name: " ", description: "A bakery site" })).body.name).toBe("Bakery site");
    const renamed = await alice.call("PATCH", `/projects/${created.body.id}`, { name: "Dark todos" });
    expect(renamed.body.name).toBe("Dark todos");
  });

  it("never shows, changes or deletes another user's project: 404 everywhere, absent from lists", async () => {
    const { body: project } = await alice.call("POST", "/projects", { name: "Private" });
    const id = project.id;
    const attempts = [
      bob.call("GET", `/projects/${id}`),
      bob.call("PATCH", `/projects/${id}`, { name: "Mine now" }),
      bob.call("DELETE", `/projects/${id}`),
      bob.call("GET", `/projects/${id}/conversation`),
      bob.call("GET", `/projects/${id}/preview`),
    ];
    for (const response of await Promise.all(attempts)) {
      expect(response.status).toBe(404);
      expect(response.body).toEqual({ code: "not_found", message: `project "${id}" not found`, details: null });
    }
    expect((await bob.call("GET", "/projects")).body.projects).toEqual([]);
    expect((await alice.call("GET", `/projects/${id}`)).body.name).toBe("Private");
    expect((await alice.call("GET", `/projects/${id}/preview`)).body).toEqual({ code: "failed_precondition", message: `project ${id} has no preview yet: a generation makes one`, details: null });
    const unknown = await alice.call("GET", "/projects/prj_doesnotexist");
    expect(unknown.body).toEqual({ code: "not_found", message: 'project "prj_doesnotexist" not found', details: null });
  });

  it("pages through projects created within one millisecond (Postgres keeps microseconds, a cursor milliseconds) without skipping any", async () => {
    const dave = client(kiln.url, (await kiln.createUser("dave")).token, responses);
    const ids: string[] = [];
    for (const name of ["m0", "m1", "m2", "m3", "m4"]) ids.push((await dave.call("POST", "/projects", { name })).body.id);
    // All in the same millisecond, microseconds apart, in an order unlike the ids'.
    const micros = [400, 100, 300, 200, 0];
    for (const [i, id] of ids.entries()) {
      await kiln.kiln.databases.pool("projects").query("UPDATE projects SET created_at = '2026-01-01T00:00:00.123Z'::timestamptz + $2 * interval '1 microsecond' WHERE id = $1", [id, micros[i]]);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await dave.call("GET", `/projects?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      expect(page.status).toBe(200);
      seen.push(...page.body.projects.map((p: { id: string }) => p.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect([...seen].sort()).toEqual([...ids].sort());
    expect(seen).toHaveLength(5);
  });

  it("pages through more projects than fit on one page, newest first, each exactly once", async () => {
    const carol = client(kiln.url, (await kiln.createUser("carol")).token, responses);
    const names = Array.from({ length: 25 }, (_, i) => `p${String(i).padStart(2, "0")}`);
    for (const name of names) await carol.call("POST", "/projects", { name });
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor ? `?limit=10&cursor=${encodeURIComponent(cursor)}` : "?limit=10";
      const page = await carol.call("GET", `/projects${query}`);
      expect(page.status).toBe(200);
      seen.push(...page.body.projects.map((p: { name: string }) => p.name));
      cursor = page.body.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([...names].reverse());
  });

  it.each([
    [{ name: "   " }, "name: is required when there is no description to derive it from"],
    [{ name: "x".repeat(101) }, "name: must be at most 100 characters, got 101"],
    [{ name: 42 }, "name: must be a string, got number"],
    [{ name: 42, description: "A todo list" }, "name: must be a string, got number"],
    [{}, "name: is required when there is no description to derive it from"],
    [{ name: "ok", description: "d".repeat(2001) }, "description: must be at most 2000 characters, got 2001"],
  ])("rejects create %j with 400 naming the field", async (body, message) => {
    const response = await alice.call("POST", "/projects", body);
    expect(response.status).toBe(400);
    expect(response.body.code).toBe("invalid_argument");
    expect(response.body.message).toBe(message);
  });

  it("rejects bad page sizes and cursors", async () => {
    expect((await alice.call("GET", "/projects?limit=0")).body.message).toBe("limit: must be an integer from 1 to 100");
    expect((await alice.call("GET", "/projects?limit=abc")).body.message).toBe('limit: must be a number, got "abc"');
    expect((await alice.call("GET", "/projects?cursor=garbage")).body.message).toBe("cursor: is not a cursor returned by this API");
  });

  it.each(["-1", "1.5", "1e9", "0x10", "%2010", ""])("answers limit=%s with 400 naming the limit", async (limit) => {
    const response = await alice.call("GET", `/projects?limit=${limit}`);
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ code: "invalid_argument", details: { field: "limit" } });
  });

  it.each([
    ["a date past what Postgres stores", "+275760-09-13T00:00:00.000Z"],
    ["a negative year", "-000001-01-01T00:00:00.000Z"],
    ["year zero", "0000-01-01T00:00:00.000Z"],
    ["a bare number Date.parse reads as a year", "1"],
    ["a huge number", "8640000000000000"],
    ["a date that does not exist", "2024-02-30T00:00:00.000Z"],
  ])("answers a cursor holding %s with 400 naming the cursor", async (_what, createdAt) => {
    const cursor = Buffer.from(JSON.stringify([createdAt, "prj_x"])).toString("base64url");
    const response = await alice.call("GET", `/projects?cursor=${cursor}`);
    expect(response.status).toBe(400);
    expect(response.body).toEqual({ code: "invalid_argument", message: "cursor: is not a cursor returned by this API", details: { field: "cursor" } });
  });

  it("answers a cursor whose id holds a NUL character with 400, not a database error", async () => {
    const cursor = Buffer.from(JSON.stringify(["2024-01-01T00:00:00.000Z", "prj_\u0000"])).toString("base64url");
    const response = await alice.call("GET", `/projects?cursor=${cursor}`);
    expect(response.status).toBe(400);
    expect(response.body.details).toEqual({ field: "cursor" });
  });
});

describe("authentication", () => {
  it.each([
    [undefined, "missing Authorization header (expected: Bearer <token>)"],
    ["Token abc", "malformed Authorization header (expected: Bearer <token>)"],
    ["Bearer kiln_not_a_real_token", "invalid token"],
  ])("answers %j with 401", async (header, message) => {
    const response = await fetch(`${kiln.url}/projects`, { headers: header ? { authorization: header } : {} });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ code: "unauthenticated", message, details: null });
  });

  it("creates, lists and revokes tokens; a revoked token stops working at once", async () => {
    const created = await alice.call("POST", "/projects/tokens", { name: "laptop" });
    expect(created.body.token).toMatch(/^kiln_[A-Za-z0-9_-]{43}$/);
    expect(created.body.info).toMatchObject({ name: "laptop", prefix: created.body.token.slice(0, 12), revokedAt: null });
    const laptop = client(kiln.url, created.body.token, responses);
    expect((await laptop.call("GET", "/projects")).status).toBe(200);
    const listed = await alice.call("GET", "/projects/tokens");
    const entry = listed.body.tokens.find((t: { id: string }) => t.id === created.body.info.id);
    expect(entry.lastUsedAt).not.toBeNull();
    expect(Object.keys(entry).sort()).toEqual(["createdAt", "id", "lastUsedAt", "name", "prefix", "revokedAt"]);
    expect((await bob.call("DELETE", `/projects/tokens/${created.body.info.id}`)).status).toBe(404);
    const revoked = await alice.call("DELETE", `/projects/tokens/${created.body.info.id}`);
    expect(revoked.body.revokedAt).not.toBeNull();
    const after = await laptop.call("GET", "/projects");
    expect(after.status).toBe(401);
    expect(after.body.message).toBe("this token has been revoked");
  });

  it("leaves health checks open", async () => {
    expect((await fetch(`${kiln.url}/projects/health`)).status).toBe(200);
  });
});

describe("the conversation and project activity (written by other services through the contract)", () => {
  it("keeps prompts and summaries in order and shows the project card's latest facts", async () => {
    const { body: project } = await alice.call("POST", "/projects", { name: "Chatty" });
    const impl = projectsImpl();
    await impl.appendMessage({ id: project.id, role: "user", content: "Build a todo app", jobId: "job_1" });
    await Promise.all([
      impl.appendMessage({ id: project.id, role: "assistant", content: "Built it." }),
      impl.appendMessage({ id: project.id, role: "user", content: "Add dark mode" }),
    ]);
    const conversation = await alice.call("GET", `/projects/${project.id}/conversation`);
    expect(conversation.body.messages.map((m: { seq: number }) => m.seq)).toEqual([1, 2, 3]);
    expect(conversation.body.messages[0]).toMatchObject({ role: "user", content: "Build a todo app", jobId: "job_1" });
    await impl.recordActivity({ id: project.id, status: "ready", workspaceId: "wsp_1", previewUrl: "http://127.0.0.1:5173", latestJobId: "job_1" });
    const card = await alice.call("GET", `/projects/${project.id}`);
    expect(card.body).toMatchObject({ status: "ready", workspaceId: "wsp_1", previewUrl: "http://127.0.0.1:5173", latestJobId: "job_1" });
    await expect(impl.appendMessage({ id: project.id, role: "system" as "user", content: "x" })).rejects.toThrow('role: must be "user" or "assistant"');
    await expect(impl.recordActivity({ id: "prj_nope" })).rejects.toThrow('project "prj_nope" not found');
  });

  it("does not serve the service-to-service endpoints over HTTP", async () => {
    const { body: project } = await alice.call("POST", "/projects", { name: "Closed" });
    expect((await alice.call("POST", `/projects/${project.id}/activity`, { status: "pwned" })).status).toBe(404);
  });
});

describe("secrets", () => {
  it("never returns or logs a token hash, and never logs a token", async () => {
    const hashes = [hashToken(aliceToken), hashToken(bobToken)];
    const everything = responses.join("\n");
    for (const hash of hashes) expect(everything).not.toContain(hash);
    const logs = kiln.logText();
    for (const secret of [...hashes, aliceToken, bobToken]) expect(logs).not.toContain(secret);
    expect(everything).not.toContain(aliceToken);
  });
});

describe("bootstrap on a machine's first start", () => {
  it("creates the local user once, with the configured token", async () => {
    const db = kiln.kiln.databases.pool("projects");
    // Users already exist in this database, so bootstrap does nothing here.
    expect(await bootstrapLocalUser(db, "kiln_configured_token_value_123")).toBeNull();
  });

  it("on an empty database creates the user and a working token", async () => {
    const fresh = await startTestKiln();
    try {
      const issued = await bootstrapLocalUser(fresh.kiln.databases.pool("projects"), "kiln_configured_token_value_123");
      expect(issued?.token).toBe("kiln_configured_token_value_123");
      expect(await bootstrapLocalUser(fresh.kiln.databases.pool("projects"))).toBeNull();
      expect((await client(fresh.url, "kiln_configured_token_value_123").call("GET", "/projects")).status).toBe(200);
    } finally {
      await fresh.close();
    }
  });
});
