/**
 * A fake Daytona API on 127.0.0.1 for driving the real `@daytonaio/sdk` offline (notes/sdk-wire.md §1):
 * the control plane under `/api/sandbox...` (and `/api/snapshots...`, built from declarative images:
 * snapshots.ts) and the toolbox under `/toolbox/<id>/...` (every sandbox JSON
 * carries `toolboxProxyUrl` pointing back here). Each Daytona sandbox is backed by one sandbox of the
 * local provider (no bubblewrap), so files are real files and commands real processes; the local
 * sandbox's directory stands for the sandbox's file system, and every path the API speaks is an absolute
 * host path below it (the user's home is `<it>/home/daytona`, or `<it>/root` for `node:*` images). It
 * behaves as real Daytona does (realism.ts: soft deletes, 409s, stale lists, slow restores, log markers,
 * signed previews behind a proxy with its own error pages, ...), each behaviour with a knob.
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
import { daemonError, replyForError, type Reply } from "./daemon";
import { busyboxShims } from "./image";
import { apiError, FakeLifecycle } from "./lifecycle";
import { parseMultipart } from "./multipart";
import { FakePreviews } from "./previews";
import { PreviewProxy } from "./proxy";
import { FakePtys } from "./pty";
import { SimulatedLink, type FakeNetwork } from "./network";
import { REALISTIC, type FakeRealism } from "./realism";
import { FakeSnapshots, type FakeSnapshot } from "./snapshots";
import { sandboxJson, setState, type FakeContext, type FakeSandbox } from "./state";
import { killProcessesWithHome } from "./sweep";
import { toolbox } from "./toolbox";

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

/** Fault knobs: each changes how the fake answers from now on (or the next request it names). */
export interface FakeDaytonaFaults {
  /** GETs a creating/starting sandbox is answered with before it is `started` (1 by default; 0: at once). */
  setStartPolls(polls: number): void;
  /** The next sandbox created ends in `state` with `errorReason` instead of `started` (with realism: its create answers 400). */
  failNextCreate(errorReason: string, state?: "error" | "build_failed"): void;
  /** The next create is refused with Daytona's quota words (400, nothing created), e.g. "Total CPU limit exceeded. Maximum allowed: 4". */
  exceedQuotaOnNextCreate(message: string): void;
  /** Puts a sandbox into `error` (or `build_failed`) with Daytona's reason. */
  setError(id: string, errorReason: string, state?: "error" | "build_failed"): void;
  /** The next `GET /api/sandbox/<id>` (of any sandbox) answers this 5xx status. */
  failNextPoll(status?: number): void;
  /** The next `count` starts, stops or deletes answer 409 (a state change in progress elsewhere). */
  conflictNext(count: number): void;
  /** The next `count` revocations of signed preview URLs answer 502 (the URL stays valid). */
  failNextExpires(count: number): void;
  /** The next `process/execute` answers 408 PROCESS_EXECUTION_TIMEOUT at once, as the daemon does past the request's timeout. */
  timeoutNextExecute(): void;
  /** The sandbox disappears: 404 on the control plane and the toolbox; its processes are killed. */
  vanish(id: string): Promise<void>;
  /** Stops a sandbox as auto-stop would, at once: its processes die, its files stay. */
  stopBehindBack(id: string): Promise<void>;
  /** Begins auto-stop as Daytona does: `started` with desiredState `stopped`, then `stopping`, then `stopped` (it moves on with GETs). */
  beginAutoStop(id: string): Promise<void>;
  /** Archives a sandbox as auto-archive would (restorable by start). */
  archiveBehindBack(id: string): Promise<void>;
  /** The next snapshot build fails in `state` with `errorReason` before any step runs (the runner's failure, not the Dockerfile's). */
  failNextSnapshotBuild(errorReason: string, state?: "error" | "build_failed"): void;
  /** The next GET of a snapshot that is building answers this 5xx (502 by default). */
  failNextBuildingPoll(status?: number): void;
  /** Makes a snapshot `inactive`, as Daytona does to one unused for 14 days (creates from it answer 400 until it is activated). */
  deactivateSnapshot(name: string): void;
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
  /** The behaviours of real Daytona in force (all on by default); tests may change them while the fake runs. */
  readonly realism: FakeRealism;
  /** The PTY sessions (terminals) of the fake's sandboxes. */
  readonly ptys: FakePtys;
  /** The network every API and toolbox request crosses (none by default); may be changed while the fake runs. */
  network: FakeNetwork;
  /** The fake's view of a snapshot by id or name (state, Dockerfile, build log), or undefined. */
  snapshot(idOrName: string): FakeSnapshot | undefined;
  /** Every snapshot the fake holds, oldest first. */
  snapshots(): FakeSnapshot[];
  /** The fake's view of a sandbox (state, labels, create parameters, last activity), or undefined. */
  sandbox(id: string): FakeSandbox | undefined;
  /** Whether `token` is the current preview token of the sandbox (the `x-daytona-preview-token` of private previews). */
  checkPreviewToken(id: string, token: string): boolean;
  /** Every standard preview token the fake ever issued (they also open the toolbox: none may leak). */
  standardTokens(): string[];
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
  /** Real Daytona's behaviours to turn off or tune ({@link REALISTIC} for the rest). */
  realism?: Partial<FakeRealism>;
  /** A round trip and a bandwidth for every API and toolbox request (default: none). */
  network?: FakeNetwork;
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
  const realism: FakeRealism = { ...REALISTIC, ...opts.realism };
  const ctx: FakeContext = { local, sandboxes: new Map(), signed: new Map(), realism, busyboxShims: await busyboxShims() };
  const apiKey = opts.apiKey ?? `dtn_fake_${Math.random().toString(36).slice(2)}`;
  const requests: RecordedRequest[] = [];
  const standardTokens = new Set<string>();
  let previews: FakePreviews;
  const proxy = new PreviewProxy((key, req) => previews.decide(key, req));
  previews = new FakePreviews(ctx, proxy);
  const lifecycle = new FakeLifecycle(ctx, standardTokens, (sandbox) => previews.forget(sandbox.id));
  let nextExecuteTimeout = false;
  let baseUrl = "";
  const link = new SimulatedLink(opts.network);
  const snapshots = new FakeSnapshots(ctx, () => baseUrl);
  ctx.snapshots = snapshots;

  const find = (id: string) => ctx.sandboxes.get(id);
  const ptys = new FakePtys(ctx, find, apiKey);

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
      const created = await lifecycle.create(params);
      return "status" in created ? created : reply(created);
    }
    if (parts.length === 0 && method === "GET") {
      const labels = query.get("labels") ? (JSON.parse(query.get("labels") as string) as Record<string, string>) : {};
      return lifecycle.list(labels, Number(query.get("limit") ?? opts.pageSize ?? 100), Number(query.get("cursor") ?? 0), toolboxProxyUrl);
    }
    const id = decodeURIComponent(parts[0] ?? "");
    const sandbox = SANDBOX_ID.test(id) ? find(id) : undefined;
    if (!sandbox) return apiError(404, `Sandbox with ID or name ${id} not found`);
    const action = parts.slice(1).join("/");
    if (method === "GET" && action === "") return (await lifecycle.get(sandbox)) ?? reply(sandbox);
    if (method === "DELETE" && action === "") return lifecycle.delete(sandbox, toolboxProxyUrl);
    if (method === "POST" && action === "start") return (await lifecycle.start(sandbox)) ?? reply(sandbox);
    if (method === "POST" && action === "stop") return (await lifecycle.stop(sandbox)) ?? reply(sandbox);
    if (method === "POST" && action === "last-activity") {
      sandbox.lastActivity = Date.now();
      return { status: 201 };
    }
    if (method === "GET" && action === "toolbox-proxy-url") return { status: 200, json: { url: toolboxProxyUrl } };
    if (method === "PUT" && action === "labels") {
      // Replaces every label (Daytona's replaceLabels), and counts as a change of the sandbox.
      let labels: unknown;
      try {
        labels = (JSON.parse(body.toString("utf8") || "{}") as { labels?: unknown }).labels;
      } catch {
        return apiError(400, "the body is not JSON");
      }
      if (typeof labels !== "object" || labels === null || Object.values(labels).some((value) => typeof value !== "string")) return apiError(400, "labels must be an object of strings");
      sandbox.labels = { ...(labels as Record<string, string>) };
      sandbox.updatedAt = new Date().toISOString();
      return { status: 200, json: { labels: sandbox.labels } };
    }
    return (await previews.route(sandbox, method, action, query)) ?? apiError(404, `Cannot ${method} /api/sandbox/${parts.join("/")}`);
  }

  async function route(req: IncomingMessage, url: URL, body: Buffer): Promise<Reply> {
    const parts = url.pathname.split("/").filter(Boolean);
    if (parts[0] === "s3") return snapshots.objectStorage(req.method ?? "GET", parts.slice(1).join("/"), url.searchParams, body, req.headers.authorization);
    if (req.headers.authorization !== `Bearer ${apiKey}`) return apiError(401, "Invalid credentials");
    if (parts[0] === "api" && parts[1] === "sandbox") return controlPlane(req.method ?? "GET", parts.slice(2), url.searchParams, body);
    if (parts[0] === "api") {
      const answer = await snapshots.route(req.method ?? "GET", parts.slice(1), url.searchParams, body);
      if (answer) return answer;
    }
    if (parts[0] === "toolbox" && parts.length >= 3) {
      const sandbox = find(decodeURIComponent(parts[1]!));
      if (!sandbox || sandbox.state === "destroying") return daemonError(404, "SANDBOX_NOT_FOUND", `sandbox ${parts[1]} not found`);
      if (sandbox.state !== "started") return daemonError(400, "SANDBOX_NOT_STARTED", `sandbox ${sandbox.id} is ${sandbox.state}, not started`);
      sandbox.lastActivity = Date.now();
      if (nextExecuteTimeout && parts.slice(2).join("/") === "process/execute") {
        nextExecuteTimeout = false;
        return daemonError(408, "PROCESS_EXECUTION_TIMEOUT", "command execution timed out (injected)");
      }
      try {
        const request = { method: req.method ?? "GET", route: parts.slice(2).join("/"), query: url.searchParams, body, contentType: req.headers["content-type"] };
        return (await ptys.route(sandbox, request)) ?? (await toolbox(ctx, sandbox, request));
      } catch (err) {
        return replyForError(err);
      }
    }
    return apiError(404, `Cannot ${req.method} ${url.pathname}`);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://fake");
    const body = await readBody(req);
    const logs = /^\/snapshot-logs\/([^/]+)$/.exec(url.pathname);
    if (logs && req.method === "GET") {
      requests.push({ method: "GET", path: url.pathname, query: Object.fromEntries(url.searchParams) });
      if (req.headers.authorization !== `Bearer ${apiKey}`) res.writeHead(401, { "content-type": "application/json" }).end(JSON.stringify({ statusCode: 401, message: "Invalid credentials" }));
      else snapshots.streamLogs(decodeURIComponent(logs[1]!), res);
      return;
    }
    const record: RecordedRequest = {
      method: req.method ?? "GET",
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      body: summarize(body, req.headers["content-type"]),
    };
    requests.push(record);
    await link.travel(body.length);
    let reply: Reply;
    try {
      reply = await route(req, url, body);
    } catch (err) {
      reply = replyForError(err);
    }
    record.status = reply.status;
    await link.travel(link.settings.bytesPerSecond ? (reply.body?.length ?? Buffer.byteLength(JSON.stringify(reply.json ?? ""))) : 0);
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
  server.on("upgrade", (req, socket, head) => {
    if (ptys.upgrade(req, socket, head)) return;
    socket.end("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
  });
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
    ptys,
    requests,
    realism,
    get network() {
      return link.settings;
    },
    set network(settings) {
      link.settings = settings;
    },
    faults: {
      failNextExpires(count) {
        previews.faults.expireFailures = count;
      },
      setStartPolls(polls) {
        lifecycle.faults.startPolls = polls;
      },
      failNextCreate(errorReason, state = "error") {
        lifecycle.faults.nextCreateFailure = { state, errorReason };
      },
      exceedQuotaOnNextCreate(message) {
        lifecycle.faults.nextCreateQuota = message;
      },
      setError(id, errorReason, state = "error") {
        setState(mustFind(id), state, errorReason);
      },
      failNextPoll(status = 502) {
        lifecycle.faults.nextPollFailure = status;
      },
      conflictNext(count) {
        lifecycle.faults.conflicts = count;
      },
      timeoutNextExecute() {
        nextExecuteTimeout = true;
      },
      async vanish(id) {
        const sandbox = mustFind(id);
        ctx.sandboxes.delete(id);
        await lifecycle.stopLocal(sandbox);
      },
      async stopBehindBack(id) {
        const sandbox = mustFind(id);
        await lifecycle.stopLocal(sandbox);
        setState(sandbox, "stopped");
      },
      async beginAutoStop(id) {
        await lifecycle.autoStop(mustFind(id));
      },
      async archiveBehindBack(id) {
        const sandbox = mustFind(id);
        await lifecycle.stopLocal(sandbox);
        setState(sandbox, "archived");
      },
      failNextSnapshotBuild(errorReason, state = "error") {
        snapshots.faults.nextBuildFailure = { state, errorReason };
      },
      failNextBuildingPoll(status = 502) {
        snapshots.faults.nextBuildingPollFailure = status;
      },
      deactivateSnapshot(name) {
        snapshots.deactivate(name);
      },
    },
    snapshot: (idOrName) => snapshots.find(idOrName),
    snapshots: () => snapshots.all(),
    sandbox: find,
    checkPreviewToken: (id, token) => find(id)?.previewToken === token,
    standardTokens: () => [...standardTokens],
    async close() {
      lifecycle.close();
      await ptys.close();
      await proxy.closeAll();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      for (const sandbox of ctx.sandboxes.values()) await killProcessesWithHome(sandbox.home);
      await local.close();
      if (ctx.busyboxShims) await rm(ctx.busyboxShims, { recursive: true, force: true });
      if (ownRoot) await rm(root, { recursive: true, force: true });
    },
  };
}
