/**
 * A fake Daytona API on 127.0.0.1 for driving the real `@daytonaio/sdk` offline (notes/sdk-wire.md §1):
 * the control plane under `/api/sandbox...` and the toolbox under `/toolbox/<id>/...` (every sandbox JSON
 * carries `toolboxProxyUrl` pointing back here). Each Daytona sandbox is backed by one sandbox of the
 * local provider (no bubblewrap), so files are real files and commands real processes; its project
 * directory stands for the sandbox user's home, `/home/daytona`.
 *
 * ```ts
 * const fake = await startFakeDaytona({ previewPorts: [4100, 4100] });
 * const daytona = new Daytona({ apiKey: fake.apiKey, apiUrl: fake.apiUrl, useDeprecatedPolling: true });
 * fake.faults.failNextPoll(502);
 * expect(fake.requests.filter((r) => r.path.endsWith("/files/bulk-upload"))).toHaveLength(1);
 * await fake.close();
 * ```
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Logger } from "../../../lib/log";
import { createLocalProvider } from "../../../workspace/sandbox/local";
import { parseMultipart } from "./multipart";
import { beginTransition, newPreviewToken, poll, sandboxJson, setState, type FakeContext, type FakeSandbox } from "./state";
import { killProcessesWithHome } from "./sweep";
import { daemonError, replyForError, toolbox, type Reply } from "./toolbox";

/** One request the fake received: enough to assert on traffic (one upload for N files, create parameters, ...). */
export interface RecordedRequest {
  method: string;
  /** The path without the query string, e.g. `/api/sandbox/sbx-1/start` or `/toolbox/sbx-1/files/bulk-upload`. */
  path: string;
  query: Record<string, string>;
  /** The JSON body, parsed; for a bulk upload `{ files: [{ path, bytes }] }`. */
  body?: unknown;
  status?: number;
}

/** Fault knobs: each changes how the fake answers from now on. */
export interface FakeDaytonaFaults {
  /** GETs a creating/starting/restoring sandbox is answered with before it is `started` (1 by default; 0: at once). */
  setStartPolls(polls: number): void;
  /** The next sandbox created ends in `state` with `errorReason` instead of `started`. */
  failNextCreate(errorReason: string, state?: "error" | "build_failed"): void;
  /** Puts a sandbox into `error` (or `build_failed`) with Daytona's reason. */
  setError(id: string, errorReason: string, state?: "error" | "build_failed"): void;
  /** The next `GET /api/sandbox/<id>` (of any sandbox) answers this 5xx status. */
  failNextPoll(status?: number): void;
  /** The next `process/execute` answers 408 PROCESS_EXECUTION_TIMEOUT at once, as the daemon does past the request's timeout. */
  timeoutNextExecute(): void;
  /** The sandbox disappears: 404 on the control plane and the toolbox; its processes are killed. */
  vanish(id: string): Promise<void>;
  /** Stops a sandbox as auto-stop would: its processes die, its files stay. */
  stopBehindBack(id: string): Promise<void>;
  /** Archives a sandbox as auto-archive would (restorable by start). */
  archiveBehindBack(id: string): Promise<void>;
}

/** A running fake Daytona API. */
export interface FakeDaytona {
  /** `http://127.0.0.1:<port>/api`: the SDK's `apiUrl`. */
  readonly apiUrl: string;
  /** The only key accepted as `Authorization: Bearer <key>`. */
  readonly apiKey: string;
  /** Every request received, in order. */
  readonly requests: RecordedRequest[];
  readonly faults: FakeDaytonaFaults;
  /** The fake's view of a sandbox (state, labels, create parameters), or undefined. */
  sandbox(id: string): FakeSandbox | undefined;
  /** Whether `token` is the current preview token of the sandbox (the `x-daytona-preview-token` of private previews). */
  checkPreviewToken(id: string, token: string): boolean;
  /** Stops listening, kills every process of every sandbox and removes the local sandboxes. */
  close(): Promise<void>;
}

/** Options of startFakeDaytona. */
export interface FakeDaytonaOptions {
  /** The ports sandboxes' dev servers may listen on: preview links are given for these. */
  previewPorts: [number, number];
  /** Default: a random key. */
  apiKey?: string;
  /** Default: {@link silentLogger}. */
  log?: Logger;
  /** Where the local sandboxes live (default: a fresh temporary directory, removed on close). */
  root?: string;
  /** Sandboxes per page of a list when the request gives no `limit` (100 by default). */
  pageSize?: number;
}

/** A logger that drops everything: the fake's default, and handy for the provider under test. */
export const silentLogger: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {}, child: () => silentLogger };

const SANDBOX_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** A NestJS-style control-plane error, as the real API answers. */
function apiError(status: number, message: string): Reply {
  const error = { 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 409: "Conflict" }[status] ?? "Error";
  return { status, json: { path: "", timestamp: new Date().toISOString(), statusCode: status, error, message } };
}

function summarize(body: Buffer, contentType: string | undefined): unknown {
  if (body.length === 0) return undefined;
  if (contentType?.startsWith("multipart/")) {
    try {
      const parts = parseMultipart(body, contentType);
      return { files: parts.filter((part) => part.name.endsWith(".path")).map((part) => ({ path: part.data.toString("utf8"), bytes: parts.find((p) => p.name === part.name.replace(/\.path$/, ".file"))?.data.length })) };
    } catch {
      return { bytes: body.length };
    }
  }
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    return { bytes: body.length };
  }
}

/** Starts a fake Daytona API on 127.0.0.1 (any free port). */
export async function startFakeDaytona(opts: FakeDaytonaOptions): Promise<FakeDaytona> {
  const ownRoot = opts.root === undefined;
  const root = opts.root ?? (await mkdtemp(join(tmpdir(), "kiln-fake-daytona-")));
  const local = await createLocalProvider({ root, portRange: opts.previewPorts, log: opts.log ?? silentLogger, isolation: "none", killGraceMs: 500 });
  const ctx: FakeContext = { local, sandboxes: new Map() };
  const apiKey = opts.apiKey ?? `dtn_fake_${Math.random().toString(36).slice(2)}`;
  const requests: RecordedRequest[] = [];
  let startPolls = 1;
  let nextCreateFailure: FakeSandbox["next"] | undefined;
  let nextPollFailure: number | undefined;
  let nextExecuteTimeout = false;
  let created = 0;
  let baseUrl = "";

  const find = (id: string) => ctx.sandboxes.get(id);
  const stopLocal = async (sandbox: FakeSandbox) => {
    await killProcessesWithHome(sandbox.hostHome);
    await local.stop(sandbox.localId).catch(() => {});
    sandbox.sessions.clear();
  };

  async function createSandbox(body: Record<string, unknown>): Promise<FakeSandbox> {
    const id = `sbx-fake-${++created}-${Math.random().toString(36).slice(2, 8)}`;
    const info = await local.create({ workspaceId: "daytona-fake", projectId: id });
    const home = await local.exec(info.id, { command: 'printf %s "$HOME"', timeoutMs: 10_000, maxOutputBytes: 4096 });
    const now = new Date().toISOString();
    const sandbox: FakeSandbox = {
      id,
      localId: info.id,
      hostHome: home.stdout,
      state: "creating",
      errorReason: null,
      labels: (body.labels as Record<string, string>) ?? {},
      public: body.public === true,
      env: (body.env as Record<string, string>) ?? {},
      target: typeof body.target === "string" ? body.target : "us",
      autoStopInterval: typeof body.autoStopInterval === "number" ? body.autoStopInterval : 15,
      autoArchiveInterval: typeof body.autoArchiveInterval === "number" ? body.autoArchiveInterval : 10080,
      createdAt: now,
      updatedAt: now,
      pollsLeft: 0,
      next: { state: "started", errorReason: null },
      previewToken: newPreviewToken(),
      sessions: new Map(),
    };
    ctx.sandboxes.set(id, sandbox);
    beginTransition(sandbox, "creating", nextCreateFailure ? Math.max(1, startPolls) : startPolls, nextCreateFailure ?? { state: "started", errorReason: null });
    nextCreateFailure = undefined;
    return sandbox;
  }

  async function controlPlane(method: string, parts: string[], query: URLSearchParams, body: Buffer): Promise<Reply> {
    const toolboxProxyUrl = `${baseUrl}/toolbox`;
    const reply = (sandbox: FakeSandbox): Reply => ({ status: 200, json: sandboxJson(sandbox, toolboxProxyUrl) });
    if (parts.length === 0 && method === "POST") {
      let params: Record<string, unknown>;
      try {
        params = body.length ? (JSON.parse(body.toString("utf8")) as Record<string, unknown>) : {};
      } catch {
        return apiError(400, "the body is not JSON");
      }
      return reply(await createSandbox(params));
    }
    if (parts.length === 0 && method === "GET") {
      const labels = query.get("labels") ? (JSON.parse(query.get("labels") as string) as Record<string, string>) : {};
      const limit = Number(query.get("limit") ?? opts.pageSize ?? 100);
      const offset = Number(query.get("cursor") ?? 0);
      const matching = [...ctx.sandboxes.values()].filter((sandbox) => Object.entries(labels).every(([key, value]) => sandbox.labels[key] === value));
      const page = matching.slice(offset, offset + limit);
      const nextCursor = offset + limit < matching.length ? String(offset + limit) : null;
      return { status: 200, json: { items: page.map((sandbox) => sandboxJson(sandbox, toolboxProxyUrl)), nextCursor } };
    }
    const id = decodeURIComponent(parts[0] ?? "");
    const sandbox = SANDBOX_ID.test(id) ? find(id) : undefined;
    if (!sandbox) return apiError(404, `Sandbox with ID or name ${id} not found`);
    const action = parts.slice(1).join("/");
    if (method === "GET" && action === "") {
      if (nextPollFailure !== undefined) {
        const status = nextPollFailure;
        nextPollFailure = undefined;
        return { status, json: { statusCode: status, message: `fake Daytona: injected ${status} on a poll`, error: "Bad Gateway" } };
      }
      poll(sandbox);
      return reply(sandbox);
    }
    if (method === "DELETE" && action === "") {
      await killProcessesWithHome(sandbox.hostHome);
      await local.delete(sandbox.localId).catch(() => {});
      ctx.sandboxes.delete(sandbox.id);
      setState(sandbox, "destroying");
      return reply(sandbox);
    }
    if (method === "POST" && action === "start") {
      if (sandbox.state === "error" || sandbox.state === "build_failed") return apiError(400, `Sandbox ${id} is in ${sandbox.state} state: ${sandbox.errorReason}`);
      if (sandbox.state === "stopped" || sandbox.state === "archived") {
        await local.start(sandbox.localId);
        sandbox.previewToken = newPreviewToken();
        beginTransition(sandbox, sandbox.state === "archived" ? "restoring" : "starting", startPolls, { state: "started", errorReason: null });
      }
      return reply(sandbox);
    }
    if (method === "POST" && action === "stop") {
      if (sandbox.state === "started") {
        await stopLocal(sandbox);
        setState(sandbox, "stopped");
      }
      return reply(sandbox);
    }
    if (method === "GET" && action === "toolbox-proxy-url") return { status: 200, json: { url: toolboxProxyUrl } };
    const preview = /^ports\/(\d+)\/preview-url$/.exec(action);
    if (method === "GET" && preview) {
      if (sandbox.state !== "started") return apiError(400, `Sandbox ${id} is not started`);
      try {
        const { url } = await local.previewUrl(sandbox.localId, Number(preview[1]));
        return { status: 200, json: { sandboxId: sandbox.id, url, token: sandbox.previewToken } };
      } catch (err) {
        return apiError(400, (err as Error).message);
      }
    }
    return apiError(404, `Cannot ${method} /api/sandbox/${parts.join("/")}`);
  }

  async function route(req: IncomingMessage, url: URL, body: Buffer): Promise<Reply> {
    if (req.headers.authorization !== `Bearer ${apiKey}`) return apiError(401, "Invalid credentials");
    const parts = url.pathname.split("/").filter(Boolean);
    if (parts[0] === "api" && parts[1] === "sandbox") return controlPlane(req.method ?? "GET", parts.slice(2), url.searchParams, body);
    if (parts[0] === "toolbox" && parts.length >= 3) {
      const sandbox = find(decodeURIComponent(parts[1]));
      if (!sandbox) return daemonError(404, "SANDBOX_NOT_FOUND", `sandbox ${parts[1]} not found`);
      if (sandbox.state !== "started") return daemonError(400, "SANDBOX_NOT_STARTED", `sandbox ${sandbox.id} is ${sandbox.state}, not started`);
      if (nextExecuteTimeout && parts.slice(2).join("/") === "process/execute") {
        nextExecuteTimeout = false;
        return daemonError(408, "PROCESS_EXECUTION_TIMEOUT", "command execution timed out (injected)");
      }
      try {
        return await toolbox(ctx, sandbox, { method: req.method ?? "GET", route: parts.slice(2).join("/"), query: url.searchParams, body, contentType: req.headers["content-type"] });
      } catch (err) {
        return replyForError(err);
      }
    }
    return apiError(404, `Cannot ${req.method} ${url.pathname}`);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://fake");
    const body = await readBody(req);
    const record: RecordedRequest = {
      method: req.method ?? "GET",
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      body: summarize(body, req.headers["content-type"]),
    };
    requests.push(record);
    let reply: Reply;
    try {
      reply = await route(req, url, body);
    } catch (err) {
      reply = replyForError(err);
    }
    record.status = reply.status;
    if (reply.json !== undefined) {
      res.writeHead(reply.status, { "content-type": "application/json" }).end(JSON.stringify(reply.json));
    } else if (reply.body !== undefined) {
      res.writeHead(reply.status, { "content-type": reply.contentType ?? "application/octet-stream", "content-length": reply.body.length }).end(reply.body);
    } else {
      res.writeHead(reply.status).end();
    }
  }

  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ statusCode: 500, message: err.message }));
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  // The SDK's socket.io upgrade (when polling is not forced) is refused: it falls back to polling.
  server.on("upgrade", (_req, socket) => socket.end("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const mustFind = (id: string) => {
    const sandbox = find(id);
    if (!sandbox) throw new Error(`fake Daytona has no sandbox ${id}`);
    return sandbox;
  };

  return {
    apiUrl: `${baseUrl}/api`,
    apiKey,
    requests,
    faults: {
      setStartPolls(polls) {
        startPolls = polls;
      },
      failNextCreate(errorReason, state = "error") {
        nextCreateFailure = { state, errorReason };
      },
      setError(id, errorReason, state = "error") {
        setState(mustFind(id), state, errorReason);
      },
      failNextPoll(status = 502) {
        nextPollFailure = status;
      },
      timeoutNextExecute() {
        nextExecuteTimeout = true;
      },
      async vanish(id) {
        const sandbox = mustFind(id);
        ctx.sandboxes.delete(id);
        await stopLocal(sandbox);
      },
      async stopBehindBack(id) {
        const sandbox = mustFind(id);
        await stopLocal(sandbox);
        setState(sandbox, "stopped");
      },
      async archiveBehindBack(id) {
        const sandbox = mustFind(id);
        await stopLocal(sandbox);
        setState(sandbox, "archived");
      },
    },
    sandbox: find,
    checkPreviewToken: (id, token) => find(id)?.previewToken === token,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      for (const sandbox of ctx.sandboxes.values()) await killProcessesWithHome(sandbox.hostHome);
      await local.close();
      if (ownRoot) await rm(root, { recursive: true, force: true });
    },
  };
}
