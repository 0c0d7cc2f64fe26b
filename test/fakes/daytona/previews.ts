/**
 * Previews of the fake: the control-plane routes that hand out preview links (the standard one with its
 * token, signed ones bound to a port with a TTL, their revocation), and what the proxy does with a
 * request to each (see proxy.ts): Daytona's own 401/400/404 pages and warning page, or the dev server.
 */
import { randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { daemonError, type Reply } from "./daemon";
import { acceptWarning, ACCEPT_WARNING_PATH, isBrowser, proxyError, WARNING_ACCEPTED_COOKIE, warningPage, type PreviewProxy, type ProxyDecision } from "./proxy";
import type { FakeContext, FakeSandbox } from "./state";

/** The longest TTL Daytona signs a preview URL for, and its default. */
const MAX_SIGNED_SECONDS = 86_400;
const DEFAULT_SIGNED_SECONDS = 60;
/** The query parameter that may carry the standard preview token instead of the header. */
const AUTH_KEY_PARAM = "DAYTONA_SANDBOX_AUTH_KEY";

function hasAcceptedWarning(req: IncomingMessage): boolean {
  return (req.headers.cookie ?? "").split(/;\s*/).includes(`${WARNING_ACCEPTED_COOKIE}=true`);
}

/** The preview routes of the control plane and the proxy's decisions, over the fake's state. */
export class FakePreviews {
  /** Revocations still to fail (502, nothing revoked). */
  readonly faults = { expireFailures: 0 };

  constructor(
    private readonly ctx: FakeContext,
    private readonly proxy: PreviewProxy,
  ) {}

  /** `GET ports/<port>/preview-url`, `GET ports/<port>/signed-preview-url`, `POST ports/<port>/signed-preview-url/<token>/expire`; undefined for other actions. */
  async route(sandbox: FakeSandbox, method: string, action: string, query: URLSearchParams): Promise<Reply | undefined> {
    const match = /^ports\/(\d+)\/(preview-url|signed-preview-url(?:\/([^/]+)\/expire)?)$/.exec(action);
    if (!match) return undefined;
    const port = Number(match[1]);
    if (port < 1 || port > 65535) return daemonError(400, "INVALID_PORT", `invalid port ${port}`);
    if (method === "GET" && match[2] === "preview-url") {
      const url = await this.proxy.urlFor(`${port}-${sandbox.id}`);
      return { status: 200, json: { sandboxId: sandbox.id, url, token: sandbox.previewToken } };
    }
    if (method === "GET" && match[2] === "signed-preview-url") {
      const seconds = Number(query.get("expiresInSeconds") ?? DEFAULT_SIGNED_SECONDS);
      if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_SIGNED_SECONDS) {
        return { status: 400, json: { statusCode: 400, error: "Bad Request", message: `expiresInSeconds must be between 1 and ${MAX_SIGNED_SECONDS}` } };
      }
      const token = randomBytes(12).toString("hex");
      this.ctx.signed.set(token, { token, sandboxId: sandbox.id, port, expiresAt: Date.now() + seconds * 1000 });
      const url = await this.proxy.urlFor(`${port}-${token}`);
      return { status: 200, json: { sandboxId: sandbox.id, port, token, url } };
    }
    if (method === "POST" && match[3] !== undefined) {
      if (this.faults.expireFailures > 0) {
        this.faults.expireFailures--;
        return { status: 502, json: { statusCode: 502, error: "Bad Gateway", message: "upstream unavailable (injected)" } };
      }
      const signed = this.ctx.signed.get(decodeURIComponent(match[3]));
      if (!signed || signed.sandboxId !== sandbox.id || signed.port !== port) return { status: 404, json: { statusCode: 404, error: "Not Found", message: "signed preview URL not found" } };
      signed.expiresAt = 0;
      return { status: 200 };
    }
    return undefined;
  }

  /**
   * Stops serving a deleted sandbox's host names (its standard one and its signed URLs): they no longer
   * connect. The real proxy would still answer them with its 404 page; the fake's ports are its own to free.
   */
  async forget(sandboxId: string): Promise<void> {
    const keys = this.proxy.keys().filter((key) => {
      const name = key.slice(key.indexOf("-") + 1);
      return name === sandboxId || this.ctx.signed.get(name)?.sandboxId === sandboxId;
    });
    await Promise.all(keys.map((key) => this.proxy.close(key)));
  }

  /** What the proxy does with a request to the host name `{port}-{sandbox id | signed token}`. */
  readonly decide = async (key: string, req: IncomingMessage): Promise<ProxyDecision> => {
    const { realism, local } = this.ctx;
    const dash = key.indexOf("-");
    const port = Number(key.slice(0, dash));
    const name = key.slice(dash + 1);
    const signed = this.ctx.signed.get(name);
    const sandbox = this.ctx.sandboxes.get(signed ? signed.sandboxId : name);
    if (!sandbox || sandbox.state === "destroying" || sandbox.state === "destroyed") {
      return { page: proxyError(404, "SANDBOX_NOT_FOUND", `sandbox ${signed ? "of this signed URL " : ""}not found`, req) };
    }
    const url = new URL(req.url ?? "/", "http://proxy");
    if (url.pathname === ACCEPT_WARNING_PATH) return { page: acceptWarning(req) };
    // The warning is a middleware in front of everything else the proxy does.
    const websocket = (req.headers.upgrade ?? "").toLowerCase() === "websocket";
    if (realism.previewWarning && isBrowser(req.headers["user-agent"]) && req.headers["x-daytona-skip-preview-warning"] !== "true" && !websocket && !hasAcceptedWarning(req)) {
      return { page: warningPage(req) };
    }
    if (signed && signed.expiresAt <= Date.now()) return { page: proxyError(401, "UNAUTHORIZED", "the signed preview URL has expired or was revoked", req) };
    if (!signed && !sandbox.public && realism.proxyPages) {
      const given = req.headers["x-daytona-preview-token"] ?? url.searchParams.get(AUTH_KEY_PARAM);
      if (given !== sandbox.previewToken) {
        const problem = given ? "authentication failed: Auth key header is invalid" : "missing authentication: provide a preview access token (via header, query parameter, or cookie) or use an API key or JWT";
        return { page: proxyError(401, "UNAUTHORIZED", problem, req) };
      }
    }
    if (url.searchParams.has(AUTH_KEY_PARAM)) {
      url.searchParams.delete(AUTH_KEY_PARAM);
      req.url = `${url.pathname}${url.search}`;
    }
    if (sandbox.state !== "started" && realism.proxyPages) {
      return { page: proxyError(400, "SANDBOX_NOT_STARTED", "sandbox is not running — start the sandbox before accessing it", req) };
    }
    if (req.headers["x-daytona-skip-last-activity-update"] !== "true") sandbox.lastActivity = Date.now();
    try {
      const { url: target } = await local.previewUrl(sandbox.localId, port);
      return { forwardTo: Number(new URL(target).port) };
    } catch (err) {
      return { page: proxyError(400, "BAD_REQUEST", (err as Error).message, req) };
    }
  };
}
