import http from "node:http";
import https from "node:https";
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { errorFields } from "../../lib/log";
import type { RawHandler } from "../../lib/routes";
import type { WorkspaceApi } from "../../workspace/contract";
import { resolveShareToken, type ResolvedLink } from "./links";
import { TokenBuckets } from "./rate-limit";
import { createWaker, WAKING_PAGE, type WakeDeps } from "./wake";
import { isRewritable, rewriteRootUrls, withStorageShim } from "./rewrite";

/** What the gateway needs: the links' table, the workspace service for each preview's address, what waking needs, a clock. */
export interface ShareGatewayDeps extends WakeDeps {
  workspace: Pick<WorkspaceApi, "preview"> & WakeDeps["workspace"];
  now?: () => Date;
  /** The origin whose subdomains serve each link on a host of its own (`KILN_SHARE_ORIGIN`); unset: only `/s/<token>/`. */
  shareOrigin?: string;
  /** Per-link token bucket (default 300 requests at once, 50 a second). */
  rateLimit?: { capacity: number; perSecond: number };
}

/** The share gateway: HTTP through `serve` (the contract's raw route), WebSocket upgrades through `upgrade`. */
export interface ShareGateway {
  serve: RawHandler;
  /** Handles an `upgrade` of the HTTP server for a `/s/` path (Vite's hot-reload socket). */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Closes the open sockets of a link at once (it was just revoked in this process). */
  closeLink(linkId: string): void;
  /** Drops the preview address held for a workspace (its share links were just revoked): the next request asks for a new one. */
  forgetPreview(workspaceId: string): void;
  /** The share listener (`KILN_SHARE_PORT`): each link on a host of its own, where every absolute path is the app's. */
  serveOwnOrigin(req: IncomingMessage, res: ServerResponse): void;
  /** WebSocket upgrades of the share listener. */
  upgradeOwnOrigin(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Where a link opens on its own host, or null without a share origin. */
  linkUrl(linkId: string, token: string): string | null;
}

/** How a request is proxied: under `/s/<token>/` on Kiln's origin (rewritten, sandboxed), or on the link's own host. */
interface Mode {
  prefix: string;
  ownOrigin: boolean;
}

const COOKIE = "kiln_share";

/** A link's host label: its id's random part (lower-case base32, a valid DNS label). */
function hostLabel(linkId: string): string {
  return linkId.replace(/^shr_/, "");
}

/** The label of `host` under the share origin's host name (`<label>.share.example:port`), or null. */
function labelOf(host: string | undefined, base: string): string | null {
  const name = (host ?? "").toLowerCase().replace(/:\d+$/, "");
  if (!name.endsWith(`.${base}`)) return null;
  const label = name.slice(0, -base.length - 1);
  return /^[0-9a-z]{1,63}$/.test(label) ? label : null;
}

/** The share token in a Cookie header, or null. */
function cookieToken(header: string | undefined): string | null {
  for (const part of (header ?? "").split(";")) {
    const [name, value] = part.trim().split("=");
    if (name === COOKIE && value) return value;
  }
  return null;
}

const SHARE_PATH = /^\/s\/([^/?#]*)(\/[^]*)?$/;
const UPSTREAM_TIMEOUT_MS = 30_000;
/** The largest request body a visitor may send the shared app (a form, a JSON call), and how long it may take to arrive. */
export const SHARE_BODY_LIMIT_BYTES = 1024 * 1024;
const BODY_TIMEOUT_MS = 30_000;
/** Methods a shared app is called with; CONNECT, TRACE and the like are refused. */
const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);
const BODY_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);
const REWRITE_LIMIT_BYTES = 20 * 1024 * 1024;
const PREVIEW_CACHE_MS = 10_000;
/** How often an open socket's link is looked up again: one revoked by another replica, or expired, closes within this. */
const SOCKET_RECHECK_MS = 15_000;
/** The longest path under a link; a longer one is answered as an unknown link (it only serves to probe or to exhaust). */
const MAX_PATH_LENGTH = 8 * 1024;

/** Request headers passed to the preview; everything else (Authorization, Cookie, Origin, hop-by-hop, X-Forwarded-*) stays behind. */
const FORWARDED_REQUEST = ["accept", "accept-language", "cache-control", "content-type", "pragma", "if-match", "if-none-match", "if-modified-since", "if-unmodified-since", "range", "user-agent"];
const FORWARDED_UPGRADE = ["sec-websocket-key", "sec-websocket-version", "sec-websocket-protocol", "sec-websocket-extensions"];
/** Response headers never passed back: hop-by-hop ones, cookies (the page runs on Kiln's origin) and lengths the gateway recomputes. */
const DROPPED_RESPONSE = new Set(["connection", "keep-alive", "proxy-authenticate", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "set-cookie", "content-length", "content-security-policy", "access-control-allow-origin", "access-control-allow-credentials"]);

/**
 * The page runs on Kiln's own origin, where the dashboard keeps its API token: a CSP sandbox without
 * `allow-same-origin` gives it an opaque origin instead (no access to Kiln's storage or cookies, its
 * requests carry `Origin: null`), and CORS for any origin lets that opaque document load its own modules.
 */
/**
 * On a link's own host the page is that host's alone (no Kiln page, no other link shares it): no CSP
 * sandbox, so its storage and its own cookie work; still never indexed or sniffed, no referrer.
 */
const OWN_ORIGIN_HEADERS = {
  "referrer-policy": "no-referrer",
  "x-robots-tag": "noindex",
  "x-content-type-options": "nosniff",
};

const ISOLATION_HEADERS = {
  "content-security-policy": "sandbox allow-scripts allow-forms allow-popups allow-modals allow-downloads allow-pointer-lock",
  "access-control-allow-origin": "*",
  "referrer-policy": "no-referrer",
  "x-robots-tag": "noindex",
  "x-content-type-options": "nosniff",
};

function plain(res: ServerResponse, status: number, text: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store", ...extra });
  res.end(text);
}

function pick(headers: IncomingHttpHeaders, names: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = headers[name];
    if (typeof value === "string") out[name] = value;
  }
  return out;
}

/**
 * The request's body, read whole up to {@link SHARE_BODY_LIMIT_BYTES} within {@link BODY_TIMEOUT_MS}
 * (a visitor trickling bytes holds nothing longer); null once it has answered 413 or 408 itself.
 */
function readBody(req: IncomingMessage, res: ServerResponse): Promise<Buffer | null> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > SHARE_BODY_LIMIT_BYTES) {
    plain(res, 413, `The request body is larger than the ${SHARE_BODY_LIMIT_BYTES} bytes a shared app takes.`, { connection: "close" });
    req.resume();
    return Promise.resolve(null);
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const fail = (status: number, text: string) => {
      clearTimeout(timer);
      if (!res.headersSent) plain(res, status, text, { connection: "close" });
      req.destroy();
      resolve(null);
    };
    const timer = setTimeout(() => fail(408, "The request body took too long to arrive."), BODY_TIMEOUT_MS);
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > SHARE_BODY_LIMIT_BYTES) return fail(413, `The request body is larger than the ${SHARE_BODY_LIMIT_BYTES} bytes a shared app takes.`);
      chunks.push(chunk);
    });
    req.on("end", () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
    req.on("error", () => fail(400, "The request body could not be read."));
  });
}

/**
 * A CORS preflight of the shared page (an opaque origin calling its own app under the link) is
 * answered here: any origin, the methods above, and only request headers the gateway forwards.
 */
function preflight(req: IncomingMessage, res: ServerResponse): void {
  const asked = String(req.headers["access-control-request-headers"] ?? "")
    .split(",")
    .map((h) => h.trim().toLowerCase())
    .filter((h) => FORWARDED_REQUEST.includes(h));
  res.writeHead(204, {
    ...ISOLATION_HEADERS,
    "access-control-allow-methods": [...METHODS].join(", "),
    ...(asked.length ? { "access-control-allow-headers": asked.join(", ") } : {}),
    "access-control-max-age": "600",
    "cache-control": "no-store",
  });
  res.end();
}

/** Builds the gateway over the links table and the workspace service. */
export function createShareGateway(deps: ShareGatewayDeps): ShareGateway {
  const now = deps.now ?? (() => new Date());
  const buckets = new TokenBuckets(deps.rateLimit?.capacity ?? 300, deps.rateLimit?.perSecond ?? 50);
  const previews = new Map<string, { url: URL; until: number }>();
  /** The open hot-reload sockets of each link, by how to close each. */
  const sockets = new Map<string, Set<() => void>>();
  const waker = createWaker(deps);
  const origin = deps.shareOrigin ? new URL(deps.shareOrigin) : null;

  /** The preview does not answer: wake its sandbox and show the page that waits for it. */
  function waking(res: ServerResponse, link: ResolvedLink & { workspaceId: string }): void {
    previews.delete(link.workspaceId);
    waker.wake(link.projectId, link.workspaceId);
    res.writeHead(503, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store", "retry-after": "2" });
    res.end(WAKING_PAGE);
  }

  /** The link and the path under it, or null for anything that is not a live link (all answered alike). */
  async function open(rawUrl: string | undefined): Promise<{ link: ResolvedLink; token: string; rest: string | undefined } | null> {
    if ((rawUrl ?? "").length > MAX_PATH_LENGTH) return null;
    const match = SHARE_PATH.exec(rawUrl ?? "");
    if (!match) return null;
    const token = match[1]!;
    const link = await resolveShareToken(deps.db, token, now());
    return link ? { link, token, rest: match[2] } : null;
  }

  /** Where the project's preview answers now (the provider's link; on Daytona a signed one, fetched server-side). */
  async function upstream(workspaceId: string): Promise<URL> {
    const cached = previews.get(workspaceId);
    if (cached && cached.until > Date.now()) return cached.url;
    const { url } = await deps.workspace.preview({ id: workspaceId, audience: "share" });
    const parsed = new URL(url);
    previews.set(workspaceId, { url: parsed, until: Date.now() + PREVIEW_CACHE_MS });
    return parsed;
  }

  function requestOptions(target: URL, rest: string, method: string, headers: Record<string, string>): http.RequestOptions {
    const base = target.pathname.replace(/\/+$/, "");
    return {
      protocol: target.protocol,
      hostname: target.hostname,
      port: target.port || undefined,
      method,
      // Joined as text, never resolved as a URL: whatever `rest` holds, the request goes to this host.
      path: `${base}${rest.startsWith("/") ? rest : `/${rest}`}`,
      headers: { ...headers, host: target.host, "x-daytona-skip-preview-warning": "true" },
      timeout: UPSTREAM_TIMEOUT_MS,
    };
  }

  function clientFor(target: URL) {
    return target.protocol === "https:" ? https : http;
  }

  /** A redirect to the preview's own host is moved under the prefix; one to another host is not followed and passes as is. */
  function location(value: string, target: URL, prefix: string): string {
    try {
      const resolved = new URL(value, target);
      if (resolved.origin !== target.origin) return value;
      return `${prefix}${resolved.pathname.replace(/^\/+/, "")}${resolved.search}${resolved.hash}`;
    } catch {
      return prefix;
    }
  }

  function respond(res: ServerResponse, upstreamRes: IncomingMessage, target: URL, mode: Mode, head: boolean): void {
    const { prefix } = mode;
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(upstreamRes.headers)) {
      if (value === undefined || DROPPED_RESPONSE.has(name)) continue;
      headers[name] = name === "location" && typeof value === "string" ? location(value, target, prefix) : value;
    }
    Object.assign(headers, mode.ownOrigin ? OWN_ORIGIN_HEADERS : ISOLATION_HEADERS);
    const status = upstreamRes.statusCode ?? 502;
    const contentType = upstreamRes.headers["content-type"];
    if (mode.ownOrigin || head || !isRewritable(contentType) || upstreamRes.headers["content-encoding"]) {
      res.writeHead(status, headers);
      upstreamRes.pipe(res);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    upstreamRes.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > REWRITE_LIMIT_BYTES) {
        upstreamRes.destroy();
        if (!res.headersSent) plain(res, 502, "The preview sent a page too large to serve.");
        return;
      }
      chunks.push(chunk);
    });
    upstreamRes.on("end", () => {
      if (res.headersSent) return;
      const text = rewriteRootUrls(Buffer.concat(chunks).toString("utf8"), prefix);
      const body = Buffer.from(/^text\/html\b/i.test(contentType ?? "") ? withStorageShim(text) : text, "utf8");
      res.writeHead(status, { ...headers, "content-length": String(body.length) });
      res.end(body);
    });
    upstreamRes.on("error", () => res.destroy());
  }

  const serve: RawHandler = async (req, res) => {
    let opened;
    try {
      opened = await open(req.url);
    } catch (err) {
      deps.log.error("share link lookup failed", errorFields(err));
      return plain(res, 503, "This preview is unavailable right now. Try again in a moment.");
    }
    if (!opened) return plain(res, 404, "Not found");
    const { link, token, rest } = opened;
    const prefix = `/s/${token}/`;
    // Relative URLs resolve under the prefix only when it ends in a slash.
    if (rest === undefined) return plain(res, 308, "", { location: prefix });
    return proxy(req, res, link, rest, { prefix, ownOrigin: false });
  };

  /** Proxies one request of a live link to its preview; `rest` is the path (and query) on the preview. */
  async function proxy(req: IncomingMessage, res: ServerResponse, link: ResolvedLink, rest: string, mode: Mode): Promise<void> {
    if (!buckets.take(link.linkId)) return plain(res, 429, "Too many requests: slow down.", { "retry-after": "1" });
    const method = req.method ?? "GET";
    if (!METHODS.has(method)) return plain(res, 405, `A share link does not take ${method.slice(0, 20)} requests.`, { allow: [...METHODS].join(", ") });
    if (method === "OPTIONS" && req.headers["access-control-request-method"]) return preflight(req, res);
    if (!link.workspaceId) return plain(res, 503, "This app has no preview yet.", { "retry-after": "10" });
    const live = { ...link, workspaceId: link.workspaceId };
    // The preview's address is taken while the link is live, before a body that may take long to arrive:
    // one asked for after the link's revoke would be a new one, which the app could show its visitor.
    const target = await upstream(live.workspaceId).catch(() => null);
    if (!target) {
      req.resume();
      return waking(res, live);
    }
    const body = BODY_METHODS.has(method) ? await readBody(req, res) : Buffer.alloc(0);
    if (body === null) return;
    const headers = { ...pick(req.headers, FORWARDED_REQUEST), "accept-encoding": "identity", ...(BODY_METHODS.has(method) ? { "content-length": String(body.length) } : {}) };
    const upstreamReq = clientFor(target).request(requestOptions(target, rest, method, headers));
    upstreamReq.on("response", (upstreamRes) => respond(res, upstreamRes, target, mode, method === "HEAD"));
    upstreamReq.on("timeout", () => upstreamReq.destroy(new Error("the preview did not answer in time")));
    upstreamReq.on("error", () => {
      if (!res.headersSent) waking(res, live);
      else res.destroy();
    });
    req.on("close", () => {
      if (!res.writableFinished) upstreamReq.destroy();
    });
    upstreamReq.end(body);
  }

  function refuse(socket: Duplex, status: string): void {
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`, () => socket.destroy());
  }

  async function upgradeAsync(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const opened = await open(req.url).catch(() => null);
    if (!opened || opened.rest === undefined) return refuse(socket, "404 Not Found");
    return proxySocket(req, socket, head, opened.link, opened.token, opened.rest);
  }

  async function proxySocket(req: IncomingMessage, socket: Duplex, head: Buffer, link: ResolvedLink, token: string, rest: string): Promise<void> {
    if (!buckets.take(link.linkId)) return refuse(socket, "429 Too Many Requests");
    if (!link.workspaceId || String(req.headers.upgrade).toLowerCase() !== "websocket") return refuse(socket, "400 Bad Request");
    const target = await upstream(link.workspaceId).catch(() => null);
    if (!target) return refuse(socket, "503 Service Unavailable");
    const headers = { ...pick(req.headers, [...FORWARDED_REQUEST, ...FORWARDED_UPGRADE]), connection: "Upgrade", upgrade: "websocket" };
    const upstreamReq = clientFor(target).request(requestOptions(target, rest, "GET", headers));
    upstreamReq.on("upgrade", (upstreamRes, upstreamSocket, upstreamHead) => {
      const lines = [`HTTP/1.1 101 Switching Protocols`];
      for (const [name, value] of Object.entries(upstreamRes.headers)) {
        if (value === undefined || name === "set-cookie") continue;
        for (const one of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${one}`);
      }
      socket.write(`${lines.join("\r\n")}\r\n\r\n`);
      if (upstreamHead.length) socket.write(upstreamHead);
      if (head.length) upstreamSocket.write(head);
      upstreamSocket.pipe(socket).pipe(upstreamSocket);
      const recheck = setInterval(() => {
        resolveShareToken(deps.db, token, now())
          .then((still) => still?.linkId === link.linkId || close())
          .catch(() => undefined);
      }, SOCKET_RECHECK_MS);
      recheck.unref();
      const openSockets = sockets.get(link.linkId) ?? new Set<() => void>();
      sockets.set(link.linkId, openSockets);
      const close = () => {
        clearInterval(recheck);
        openSockets.delete(close);
        if (openSockets.size === 0) sockets.delete(link.linkId);
        upstreamSocket.destroy();
        socket.destroy();
      };
      openSockets.add(close);
      // Either side ending ends both: server sockets are half-open by default and would otherwise linger.
      for (const side of [socket, upstreamSocket]) for (const event of ["error", "end", "close"]) side.on(event, close);
    });
    upstreamReq.on("response", (upstreamRes) => {
      upstreamRes.resume();
      refuse(socket, `${upstreamRes.statusCode ?? 502} ${upstreamRes.statusMessage ?? ""}`.trim());
    });
    upstreamReq.on("timeout", () => upstreamReq.destroy());
    upstreamReq.on("error", () => refuse(socket, "502 Bad Gateway"));
    socket.on("error", () => upstreamReq.destroy());
    upstreamReq.end();
  }

  /** The live link of a request on a link's own host (its token in the host-only cookie), or null. */
  async function ownLink(req: IncomingMessage): Promise<{ link: ResolvedLink; token: string } | null> {
    const label = origin ? labelOf(req.headers.host, origin.hostname) : null;
    const token = cookieToken(req.headers.cookie);
    if (!label || !token || (req.url ?? "").length > MAX_PATH_LENGTH) return null;
    const link = await resolveShareToken(deps.db, token, now());
    return link && hostLabel(link.linkId) === label ? { link, token } : null;
  }

  const serveOwnOrigin = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      const entry = SHARE_PATH.exec(req.url ?? "");
      const label = origin ? labelOf(req.headers.host, origin.hostname) : null;
      if (entry && label) {
        // The link itself: its token becomes a cookie of this host only, then every path is the app's.
        const opened = await open(req.url);
        if (!opened || hostLabel(opened.link.linkId) !== label) return plain(res, 404, "Not found");
        const seconds = Math.max(0, Math.floor((opened.link.expiresAt.getTime() - now().getTime()) / 1000));
        const secure = origin!.protocol === "https:" ? "; Secure" : "";
        return plain(res, 303, "", { location: opened.rest ?? "/", "set-cookie": `${COOKIE}=${opened.token}; Path=/; Max-Age=${seconds}; HttpOnly; SameSite=Lax${secure}`, "referrer-policy": "no-referrer" });
      }
      const found = await ownLink(req);
      if (!found) return plain(res, 404, "Not found");
      return await proxy(req, res, found.link, req.url ?? "/", { prefix: "/", ownOrigin: true });
    } catch (err) {
      deps.log.error("share link lookup failed", errorFields(err));
      if (!res.headersSent) plain(res, 503, "This preview is unavailable right now. Try again in a moment.");
    }
  };

  return {
    serve,
    serveOwnOrigin: (req, res) => void serveOwnOrigin(req, res),
    upgradeOwnOrigin: (req, socket, head) => {
      ownLink(req)
        .then((found) => (found ? proxySocket(req, socket, head, found.link, found.token, req.url ?? "/") : refuse(socket, "404 Not Found")))
        .catch((err) => {
          deps.log.warn("share socket failed", errorFields(err));
          socket.destroy();
        });
    },
    linkUrl: (linkId, token) => (origin ? `${origin.protocol}//${hostLabel(linkId)}.${origin.host}/s/${token}/` : null),
    closeLink: (linkId) => {
      for (const close of [...(sockets.get(linkId) ?? [])]) close();
    },
    forgetPreview: (workspaceId) => previews.delete(workspaceId),
    upgrade: (req, socket, head) => {
      upgradeAsync(req, socket, head).catch((err) => {
        deps.log.warn("share socket failed", errorFields(err));
        socket.destroy();
      });
    },
  };
}
