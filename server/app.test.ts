import { afterEach, describe, expect, it } from "vitest";
import { AppError } from "../lib/errors";
import type { Route } from "../lib/routes";
import { memoryLogger } from "../test/support/kiln";
import { createApp, MAX_PATH_PARAM_LENGTH } from "./app";
import { listen, type Listening } from "./start";

const routes: Record<string, Route> = {
  echo: { method: "POST", path: "/echo/:id", expose: true, auth: false },
  find: { method: "GET", path: "/echo/:id/find", expose: true, auth: false, fields: { id: "string", limit: "number", tags: "string[]", deep: "boolean" } },
  conflict: { method: "POST", path: "/echo/conflict", expose: true, auth: false },
  crash: { method: "POST", path: "/echo/crash", expose: true, auth: false },
  slow: { method: "GET", path: "/echo/slow", expose: true, auth: false, fields: {} },
  hidden: { method: "GET", path: "/echo/hidden", expose: false, auth: false, fields: {} },
  events: { method: "GET", path: "/echo/events/:id", expose: true, auth: false, raw: true },
  whoami: { method: "GET", path: "/echo/whoami", expose: true, auth: true, fields: {} },
};

const impl = {
  echo: async (req: unknown) => ({ got: req }),
  find: async (req: unknown) => ({ got: req }),
  conflict: async () => {
    throw new AppError("already_exists", "job job_1 is already running", { jobId: "job_1" });
  },
  crash: async () => {
    throw new Error("password=hunter2 leaked from a driver");
  },
  slow: async () => {
    await new Promise((resolve) => setTimeout(resolve, 400));
    return { done: true };
  },
  hidden: async () => ({ secret: true }),
  events: async (_req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse, params: Record<string, string>) => {
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.write(`id: 1\ndata: ${JSON.stringify({ id: params.id })}\n\n`);
    res.end();
  },
  whoami: async (_req: unknown, auth?: { userID: string }) => ({ userID: auth?.userID }),
};

let server: Listening | undefined;
afterEach(async () => {
  await server?.shutdown();
  server = undefined;
});

async function start(shutdownTimeoutMs = 5000) {
  const memory = memoryLogger();
  const app = createApp({
    services: [{ name: "echo", routes, impl }],
    health: async () => [{ service: "echo", status: "ok", checks: [] }],
    authenticate: async (header) => {
      if (header !== "Bearer good") throw new AppError("unauthenticated", "invalid token");
      return { userID: "usr_1" };
    },
    bodyLimitBytes: 1024,
    log: memory.log,
  });
  server = await listen(app, { host: "127.0.0.1", port: 0, shutdownTimeoutMs });
  return { url: server.url, memory };
}

const post = (url: string, body: string) => fetch(url, { method: "POST", body, headers: { "content-type": "application/json" } });

describe("routes mounted with Encore's request semantics", () => {
  it("merges path params into the JSON body, the path winning", async () => {
    const { url } = await start();
    const response = await post(`${url}/echo/abc`, JSON.stringify({ id: "other", name: "x" }));
    expect(await response.json()).toEqual({ got: { id: "abc", name: "x" } });
  });

  it("decodes GET fields from the query string to their declared kinds", async () => {
    const { url } = await start();
    const response = await fetch(`${url}/echo/a%20b/find?limit=20&tags=x&tags=y&deep=true&ignored=1`);
    expect(await response.json()).toEqual({ got: { id: "a b", limit: 20, tags: ["x", "y"], deep: true } });
  });

  it("rejects a query value of the wrong kind with 400 naming the field", async () => {
    const { url } = await start();
    const response = await fetch(`${url}/echo/a/find?limit=lots`);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ code: "invalid_argument", message: 'limit: must be a number, got "lots"', details: { field: "limit" } });
  });

  it("rejects malformed JSON and non-object bodies with 400 invalid_argument", async () => {
    const { url } = await start();
    const malformed = await post(`${url}/echo/a`, "{nope");
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { message: string }).message).toMatch(/^request body is not valid JSON/);
    const array = await post(`${url}/echo/a`, "[1,2]");
    expect(array.status).toBe(400);
    expect(await array.json()).toMatchObject({ code: "invalid_argument", message: "body: must be a JSON object" });
  });

  it("reads a body as JSON whatever its Content-Type, as Encore does, and answers bytes it cannot decode with 400", async () => {
    const { url } = await start();
    const send = (body: string | Blob, headers: Record<string, string> = {}) => fetch(`${url}/echo/a`, { method: "POST", body, headers });
    expect(await (await send('{"name":"x"}', { "content-type": "text/plain" })).json()).toEqual({ got: { id: "a", name: "x" } });
    expect(await (await send(new Blob(['{"name":"x"}']))).json()).toEqual({ got: { id: "a", name: "x" } });
    for (const [body, type] of [["hello", "text/plain"], ["name=x", "application/x-www-form-urlencoded"], ["hello", ""]] as const) {
      const response = await send(type ? body : new Blob([body]), type ? { "content-type": type } : {});
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ code: "invalid_argument", message: expect.stringMatching(/^request body is not valid JSON/), details: null });
    }
  });

  it("answers what the router refuses before any route (a path parameter too long, a broken percent-encoding) with 400 in Encore's shape", async () => {
    const { url } = await start();
    const ok = await post(`${url}/echo/${"a".repeat(MAX_PATH_PARAM_LENGTH)}`, "{}");
    expect(ok.status).toBe(200);
    const long = await post(`${url}/echo/${"a".repeat(MAX_PATH_PARAM_LENGTH + 1)}`, "{}");
    expect([long.status, await long.json()]).toEqual([400, { code: "invalid_argument", message: `a path parameter is longer than ${MAX_PATH_PARAM_LENGTH} characters`, details: null }]);
    const broken = await fetch(`${url}/echo/%E0%A4%A/find`);
    expect([broken.status, await broken.json()]).toEqual([400, { code: "invalid_argument", message: "the path is not a valid URL: a parameter's percent-encoding is malformed", details: null }]);
  });

  it("answers a URL past Node's header limit with 431 in Encore's shape, and keeps serving", async () => {
    const { url } = await start();
    const huge = await fetch(`${url}/echo/a/find?tags=${"x".repeat(20_000)}`);
    expect(huge.status).toBe(431);
    expect(await huge.json()).toEqual({ code: "invalid_argument", message: expect.stringMatching(/^the request's headers \(its URL included\) are larger than \d+ bytes$/), details: null });
    expect((await fetch(`${url}/echo/a/find?tags=x`)).status).toBe(200);
  });

  it("serves a POST with no body at all", async () => {
    const { url } = await start();
    const response = await fetch(`${url}/echo/a`, { method: "POST" });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ got: { id: "a" } });
  });

  it("reads query numbers as Encore does: decimal text only, no hex, spaces or empty values", async () => {
    const { url } = await start();
    expect(await (await fetch(`${url}/echo/a/find?limit=1e1`)).json()).toEqual({ got: { id: "a", limit: 10 } });
    for (const limit of ["0x10", "%2010", "", "Infinity", "1_000"]) {
      const response = await fetch(`${url}/echo/a/find?limit=${limit}`);
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ code: "invalid_argument", details: { field: "limit" } });
    }
  });

  it("refuses a body over the limit with 413 and says the limit", async () => {
    const { url } = await start();
    const response = await post(`${url}/echo/a`, JSON.stringify({ blob: "x".repeat(5000) }));
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({
      code: "resource_exhausted",
      message: "request body is larger than the limit of 1024 bytes",
      details: { limitBytes: 1024 },
    });
  });

  it("maps AppError to its status and body, and hides any other error behind a generic 500", async () => {
    const { url, memory } = await start();
    const conflict = await post(`${url}/echo/conflict`, "{}");
    expect(conflict.status).toBe(409);
    expect(await conflict.json()).toEqual({ code: "already_exists", message: "job job_1 is already running", details: { jobId: "job_1" } });
    const crash = await post(`${url}/echo/crash`, "{}");
    expect(crash.status).toBe(500);
    const text = await crash.text();
    expect(JSON.parse(text)).toEqual({ code: "internal", message: "an internal error occurred", details: null });
    expect(text).not.toContain("hunter2");
    expect(memory.text()).toContain("leaked from a driver");
  });

  it("does not serve private endpoints from outside, as under Encore", async () => {
    const { url } = await start();
    const response = await fetch(`${url}/echo/hidden`);
    expect(response.status).toBe(404);
    expect(((await response.json()) as { message: string }).message).toBe("endpoint not found");
  });

  it("authenticates routes that require it and answers 401 otherwise", async () => {
    const { url } = await start();
    expect((await fetch(`${url}/echo/whoami`)).status).toBe(401);
    expect((await fetch(`${url}/echo/whoami`, { headers: { authorization: "Bearer bad" } })).status).toBe(401);
    const ok = await fetch(`${url}/echo/whoami`, { headers: { authorization: "Bearer good" } });
    expect(await ok.json()).toEqual({ userID: "usr_1" });
  });

  it("hands raw routes Node's request and response, for Server-Sent Events", async () => {
    const { url } = await start();
    const response = await fetch(`${url}/echo/events/job_9`);
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    expect(await response.text()).toBe('id: 1\ndata: {"id":"job_9"}\n\n');
  });
});

describe("graceful shutdown", () => {
  it("finishes in-flight requests, then refuses new connections", async () => {
    const { url } = await start();
    const inFlight = fetch(`${url}/echo/slow`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const stopped = server!.shutdown();
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ done: true });
    await stopped;
    await expect(fetch(`${url}/echo/slow`)).rejects.toThrow();
  });

  it("cuts requests still running at the deadline", async () => {
    const { url } = await start(50);
    const inFlight = fetch(`${url}/echo/slow`).then(
      () => "answered",
      () => "cut",
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = Date.now();
    await server!.shutdown();
    expect(Date.now() - started).toBeLessThan(350);
    expect(await inFlight).toBe("cut");
  });
});
