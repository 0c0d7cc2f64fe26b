import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, expectTypeOf, it } from "vitest";
import type { Generation } from "../../../ai/contract";
import type { Project, ProjectRef } from "../../../projects/contract";
import { CONTRACT_ROUTES } from "../../../server/contracts";
import { startTestKiln, type TestKiln } from "../../../test/support/kiln";
import { API_PREFIXES } from "../../vite.config";
import { ApiError, createClient, type GenerationEvent, type StreamStatus } from "./client";
import { SseParser } from "./sse";

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}

/** A tiny HTTP server whose answers each test sets. */
async function stubServer(handler: (req: IncomingMessage, res: ServerResponse, body: string) => void) {
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      handler(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    seen,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
};

describe("typed client (stub server)", () => {
  let stub: Awaited<ReturnType<typeof stubServer>> | undefined;
  afterEach(async () => {
    await stub?.close();
    stub = undefined;
  });

  it("encodes requests as the server decodes them: path params, query for GET/DELETE, JSON body otherwise", async () => {
    stub = await stubServer((req, res) => (req.method === "DELETE" ? json(res, 200, { revision: 3, paths: ["a"] }) : json(res, 200, { ok: true })));
    const kiln = createClient({ baseUrl: stub.url, token: "tok_123" });
    await kiln.projects.list({ limit: 5, cursor: "abc" });
    await kiln.projects.update({ id: "proj 1", name: "New" });
    await kiln.vfs.readFile({ projectId: "p1", path: "src/app.ts", revision: 2 });
    const deleted = await kiln.vfs.deleteFiles({ projectId: "p1", paths: ["a", "b c"] });
    await kiln.vfs.health();
    expect(deleted.revision).toBe(3);
    expect(stub.seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      "GET /projects?limit=5&cursor=abc",
      "PATCH /projects/proj%201",
      "GET /vfs/p1/file?path=src%2Fapp.ts&revision=2",
      "DELETE /vfs/p1/files?paths=a&paths=b+c",
      "GET /vfs/health",
    ]);
    expect(JSON.parse(stub.seen[1]!.body)).toEqual({ name: "New" });
    expect(stub.seen[1]!.headers["content-type"]).toBe("application/json");
    expect(stub.seen[0]!.headers.authorization).toBe("Bearer tok_123");
  });

  it("is typed from the contracts", () => {
    const kiln = createClient();
    expectTypeOf(kiln.projects.get).parameter(0).toEqualTypeOf<ProjectRef>();
    expectTypeOf(kiln.projects.get).returns.resolves.toEqualTypeOf<Project>();
    expectTypeOf(kiln.ai.cancel).returns.resolves.toEqualTypeOf<Generation>();
    expectTypeOf(kiln.projects.del).returns.resolves.toEqualTypeOf<void>();
    // @ts-expect-error raw routes have their own helper (followGeneration)
    void kiln.ai.events;
    // @ts-expect-error private routes (expose: false) are not offered
    void kiln.vfs.purgeProject;
    // @ts-expect-error request fields are checked
    void (() => kiln.projects.create({ title: "x" }));
  });

  it("the dev server proxies every service's prefix", () => {
    const prefixes = new Set(Object.values(CONTRACT_ROUTES).flatMap((table) => Object.values(table).map((route) => `/${route.path.split("/")[1]}`)));
    expect(new Set(API_PREFIXES)).toEqual(new Set([...prefixes, "/healthz"]));
  });

  it("offers exactly the exposed, non-raw routes", () => {
    const kiln = createClient();
    expect(Object.keys(kiln.projects).sort()).toEqual(
      ["conversation", "create", "createShareLink", "createToken", "del", "get", "health", "list", "listShareLinks", "listTerminals", "listTokens", "logs", "openTerminal", "preview", "revokeShareLink", "revokeToken", "templates", "update"].sort(),
    );
    expect(kiln.ai).not.toHaveProperty("events");
    expect(kiln.vfs).not.toHaveProperty("backupWorkspace");
    expect(kiln.vfs).not.toHaveProperty("purgeProject");
  });

  it("turns Encore's error body into an ApiError and reports unauthenticated calls", async () => {
    stub = await stubServer((req, res) => {
      if (req.url!.startsWith("/projects/missing")) return json(res, 404, { code: "not_found", message: 'project "missing" not found', details: null });
      if (req.url === "/projects") return json(res, 401, { code: "unauthenticated", message: "invalid token", details: { hint: "x" } });
      res.writeHead(502, { "content-type": "text/html" });
      res.end("<html>bad gateway</html>");
    });
    const rejected: ApiError[] = [];
    const kiln = createClient({ baseUrl: stub.url, token: () => "t", onUnauthenticated: (e) => rejected.push(e) });
    const notFound = await kiln.projects.get({ id: "missing" }).catch((e) => e);
    expect(notFound).toBeInstanceOf(ApiError);
    expect(notFound).toMatchObject({ status: 404, code: "not_found", message: 'project "missing" not found', details: null });
    const unauth = await kiln.projects.list({}).catch((e) => e);
    expect(unauth).toMatchObject({ status: 401, code: "unauthenticated", details: { hint: "x" } });
    expect(rejected).toHaveLength(1);
    const gateway = await kiln.ai.get({ id: "g1" }).catch((e) => e);
    expect(gateway).toMatchObject({ status: 502, code: "unavailable" });
  });

  it("reports an unreachable server as a network error (status 0) and a missing path param before sending", async () => {
    const kiln = createClient({ baseUrl: "http://127.0.0.1:9" });
    const err = await kiln.projects.list({}).catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 0, code: "unavailable", isNetworkError: true });
    const missing = await kiln.projects.get({ id: "" }).catch((e) => e);
    expect(missing).toMatchObject({ code: "invalid_argument", details: { field: "id" } });
  });
});

describe("SSE", () => {
  it("parses frames split anywhere, with comments, CRLF and multi-line data", () => {
    const text = ': keep-alive\r\n\r\nid: 1\r\nevent: step\r\ndata: {"a":\r\ndata: 1}\r\n\r\nid: 2\nevent: text\ndata: {"text":"hi"}\n\n';
    for (const size of [1, 2, 3, 7, text.length]) {
      const parser = new SseParser();
      const frames = [];
      for (let i = 0; i < text.length; i += size) frames.push(...parser.push(text.slice(i, i + size)));
      expect(frames).toEqual([
        { id: "1", event: "step", data: '{"a":\n1}', retry: null },
        { id: "2", event: "text", data: '{"text":"hi"}', retry: null },
      ]);
    }
  });

  it("reconnects after a drop with Last-Event-ID and delivers every event once, until the final one", async () => {
    const all = [
      { type: "queued", data: {} },
      { type: "step", data: { step: "generating", progress: 20 } },
      { type: "text", data: { text: "Building" } },
      { type: "tool_started", data: { id: "t1", name: "write_to_file" } },
      { type: "completed", data: { summary: "done", previewUrl: "http://x" } },
    ];
    const frame = (i: number) => `id: ${i + 1}\nevent: ${all[i]!.type}\ndata: ${JSON.stringify({ ...all[i]!.data, seq: i + 1, at: "2026-01-01T00:00:00Z" })}\n\n`;
    let connections = 0;
    const stub = await stubServer((req, res) => {
      connections++;
      const after = Number(req.headers["last-event-id"] ?? 0);
      if (connections !== 2) res.writeHead(200, { "content-type": "text/event-stream" });
      if (connections === 1) {
        // Two events, then the connection dies mid-way through the third.
        res.write(frame(0) + frame(1) + frame(2).slice(0, 10));
        setTimeout(() => res.destroy(), 20);
        return;
      }
      if (connections === 2) {
        res.writeHead(503, { "content-type": "application/json" });
        res.end(JSON.stringify({ code: "unavailable", message: "restarting", details: null }));
        return;
      }
      // Replays from after, plus one duplicate the client must drop.
      res.write(frame(after - 1));
      for (let i = after; i < all.length; i++) res.write(frame(i));
      res.end();
    });
    try {
      const kiln = createClient({ baseUrl: stub.url, token: "tok" });
      const events: GenerationEvent[] = [];
      const statuses: StreamStatus["state"][] = [];
      const following = kiln.followGeneration("gen_1", { onEvent: (e) => events.push(e), onStatus: (s) => statuses.push(s.state) }, { initialDelayMs: 10 });
      const result = await following.done;
      expect(result).toEqual({ final: "completed", lastEventId: 5 });
      expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
      expect(events[2]).toMatchObject({ type: "text", data: { text: "Building" } });
      expect(stub.seen.map((s) => s.url)).toEqual(["/generations/gen_1/events", "/generations/gen_1/events", "/generations/gen_1/events"]);
      expect(stub.seen.map((s) => s.headers["last-event-id"])).toEqual([undefined, "2", "2"]);
      expect(stub.seen.every((s) => s.headers.authorization === "Bearer tok")).toBe(true);
      expect(statuses).toContain("reconnecting");
      expect(statuses.at(-1)).toBe("ended");
    } finally {
      await stub.close();
    }
  });

  it("stops at once on an error no retry can fix", async () => {
    const stub = await stubServer((_req, res) => json(res, 404, { code: "not_found", message: "generation not found", details: null }));
    try {
      const kiln = createClient({ baseUrl: stub.url });
      const following = kiln.followGeneration("nope", { onEvent: () => undefined }, { initialDelayMs: 10 });
      await expect(following.done).rejects.toMatchObject({ status: 404, code: "not_found" });
      expect(stub.seen).toHaveLength(1);
    } finally {
      await stub.close();
    }
  });

  it("treats a silent connection as dropped and can be closed while waiting", async () => {
    const stub = await stubServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(": hello\n\n");
    });
    try {
      const kiln = createClient({ baseUrl: stub.url });
      const statuses: StreamStatus[] = [];
      const following = kiln.followGeneration("g", { onEvent: () => undefined, onStatus: (s) => statuses.push(s) }, { idleTimeoutMs: 100, initialDelayMs: 5_000 });
      await expect.poll(() => statuses.some((s) => s.state === "reconnecting"), { timeout: 3000 }).toBe(true);
      following.close();
      await expect(following.done).resolves.toEqual({ final: null, lastEventId: 0 });
    } finally {
      await stub.close();
    }
  });
});

describe("typed client against the standalone server", () => {
  let kiln: TestKiln;
  let token: string;
  beforeAll(async () => {
    kiln = await startTestKiln({ ANTHROPIC_API_KEY: undefined, MONGODB_URI: undefined, KILN_RUNNER_CONCURRENCY: "0" });
    ({ token } = await kiln.createUser("client-test"));
  });
  afterAll(async () => kiln?.close());

  it("creates, lists and reads projects, and maps the server's errors", async () => {
    const api = createClient({ baseUrl: kiln.url, token });
    const created = await api.projects.create({ name: "  Typed  ", description: "from the client" });
    expect(created).toMatchObject({ name: "Typed", status: expect.any(String), latestJobId: null });
    const page = await api.projects.list({ limit: 10 });
    expect(page.projects.map((p) => p.id)).toContain(created.id);
    expect((await api.projects.get({ id: created.id })).description).toBe("from the client");
    await expect(api.projects.get({ id: "proj_does_not_exist" })).rejects.toMatchObject({ status: 404, code: "not_found" });
    await expect(api.projects.create({ name: "" })).rejects.toMatchObject({ status: 400, code: "invalid_argument" });
    await expect(api.ai.list({ projectId: created.id })).resolves.toMatchObject({ generations: [] });
    const health = await api.projects.health();
    expect(health.service).toBe("projects");
  });

  it("rejects a bad token with unauthenticated", async () => {
    const rejected: string[] = [];
    const api = createClient({ baseUrl: kiln.url, token: "not-a-real-token", onUnauthenticated: (e) => rejected.push(e.code) });
    await expect(api.projects.list({})).rejects.toMatchObject({ status: 401, code: "unauthenticated" });
    expect(rejected).toEqual(["unauthenticated"]);
    const stream = api.followGeneration("gen_x", { onEvent: () => undefined });
    await expect(stream.done).rejects.toMatchObject({ status: 401 });
  });
});
