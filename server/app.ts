import http from "node:http";
import type { Duplex } from "node:stream";
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from "fastify";
import { AppError, toErrorBody } from "../lib/errors";
import type { ServiceHealth } from "../lib/health";
import { errorFields, type Logger } from "../lib/log";
import type { KilnMetrics } from "./metrics";
import { mountService, type Authenticate, type MountedService, type UpgradeHandler } from "./mount";
import { mountFrontend } from "./static";
import { isTerminalSocketUrl, mountTerminalSocket } from "../workspace/terminal/socket";
import type { TerminalSessions } from "../workspace/terminal/sessions";

/** What the HTTP layer needs: the services to mount and how to check and authenticate. */
export interface AppOptions {
  services: MountedService[];
  /** Every service's health, for `GET /healthz`. */
  health: () => Promise<ServiceHealth[]>;
  authenticate?: Authenticate;
  /** WebSocket upgrades under `/s/` (the share gateway); any other upgrade is refused. */
  upgrade?: UpgradeHandler;
  /** Terminal sockets (`/workspaces/:id/terminals/:terminalId/socket`), served with @fastify/websocket. */
  terminals?: TerminalSessions;
  /** Prometheus metrics, served at `GET /metrics`. */
  metrics?: Pick<KilnMetrics, "registry" | "httpRequest">;
  bodyLimitBytes: number;
  /** Also serve private routes (`expose: false`), as Encore's internal calls reach them: for tests only. */
  includePrivate?: boolean;
  log: Logger;
}

function parseJsonBody() {
  return (_request: unknown, body: Buffer, done: (err: Error | null, value?: unknown) => void) => {
    if (body.length === 0) return done(null, undefined);
    try {
      done(null, JSON.parse(body.toString("utf8")));
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      done(new AppError("invalid_argument", `request body is not valid JSON: ${reason}`));
    }
  };
}

function fastifyErrorToApp(err: FastifyError, bodyLimitBytes: number): { status: number; error: AppError } | null {
  if (err.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
    return {
      status: 413,
      error: new AppError("resource_exhausted", `request body is larger than the limit of ${bodyLimitBytes} bytes`, {
        limitBytes: bodyLimitBytes,
      }),
    };
  }
  if (typeof err.statusCode === "number" && err.statusCode >= 400 && err.statusCode < 500) {
    return { status: err.statusCode, error: new AppError("invalid_argument", err.message) };
  }
  return null;
}

/** The longest path parameter the router takes; no id, token or name Kiln issues comes near it. */
export const MAX_PATH_PARAM_LENGTH = 100;

function routerErrorToApp(err: FastifyError): AppError {
  switch (err.code) {
    case "FST_ERR_MAX_PARAM_LENGTH":
      return new AppError("invalid_argument", `a path parameter is longer than ${MAX_PATH_PARAM_LENGTH} characters`);
    case "FST_ERR_BAD_URL":
      return new AppError("invalid_argument", "the path is not a valid URL: a parameter's percent-encoding is malformed");
    default:
      return new AppError("internal", "the request could not be routed");
  }
}

/**
 * What Node's HTTP parser refuses before Fastify sees a request (headers or URL past Node's limit, a
 * request that did not arrive in time, bytes that are not HTTP), answered in Encore's error shape.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === "ECONNRESET" || socket.destroyed) return;
  const [status, error] =
    err.code === "HPE_HEADER_OVERFLOW"
      ? [431, new AppError("invalid_argument", `the request's headers (its URL included) are larger than ${http.maxHeaderSize} bytes`)]
      : err.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? [408, new AppError("deadline_exceeded", "the request did not arrive in time")]
        : [400, new AppError("invalid_argument", "the request is not valid HTTP")];
  const body = JSON.stringify(error.toBody());
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy();
}

/**
 * The standalone HTTP server: every service's exposed routes with Encore's request and error
 * semantics, `GET /healthz`, a body limit, and 404s in Encore's shape.
 */
export function createApp(options: AppOptions): FastifyInstance {
  const { log, bodyLimitBytes } = options;
  const app = Fastify({
    logger: false,
    bodyLimit: bodyLimitBytes,
    forceCloseConnections: "idle",
    return503OnClosing: true,
    routerOptions: { maxParamLength: MAX_PATH_PARAM_LENGTH },
    clientErrorHandler: answerClientError,
    // What the router refuses before any route runs (a parameter too long, a broken percent-encoding) answers in Encore's shape too.
    frameworkErrors: (err: FastifyError, _request: unknown, reply: FastifyReply) => {
      const mapped = routerErrorToApp(err);
      void reply.code(mapped.status).send(mapped.toBody());
    },
  });

  app.removeAllContentTypeParsers();
  // Encore reads every typed body as JSON whatever its Content-Type (runtimes/core/src/api/schema/body.rs), undecodable bytes being 400 invalid_argument: so do we, to answer alike.
  const parseJson = parseJsonBody();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (request, body, done) => {
    if ((request.routeOptions.config as { raw?: boolean }).raw) return done(null, undefined);
    parseJson(request, body as Buffer, done);
  });

  app.setErrorHandler((err: FastifyError, request, reply) => {
    const mapped = err instanceof AppError ? { status: err.status, error: err } : fastifyErrorToApp(err, request.routeOptions.bodyLimit ?? bodyLimitBytes);
    if (mapped) return reply.code(mapped.status).send(mapped.error.toBody());
    log.error("request failed", { method: request.method, url: request.routeOptions.url, ...errorFields(err) });
    const { status, body } = toErrorBody(err);
    return reply.code(status).send(body);
  });

  app.setNotFoundHandler((_request, reply) => {
    reply.code(404).send({ code: "not_found", message: "endpoint not found", details: null });
  });

  app.addHook("onResponse", async (request, reply) => {
    const route = request.routeOptions.url ?? "unmatched";
    log.debug("request", { method: request.method, route, status: reply.statusCode, ms: Math.round(reply.elapsedTime) });
    options.metrics?.httpRequest(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
  });

  if (options.metrics) {
    const { registry } = options.metrics;
    app.get("/metrics", async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()));
  }

  app.get("/healthz", async (_request, reply) => {
    const services = await options.health();
    const down = services.some((s) => s.status === "down");
    const status = down ? "down" : services.some((s) => s.status === "degraded") ? "degraded" : "ok";
    return reply.code(down ? 503 : 200).send({ status, services });
  });

  const terminalUpgrade = options.terminals ? mountTerminalSocket(app, options.terminals) : undefined;
  app.server.on("upgrade", (req, socket, head) => {
    if (options.upgrade && req.url?.startsWith("/s/")) return options.upgrade(req, socket, head);
    if (terminalUpgrade && isTerminalSocketUrl(req.url)) return terminalUpgrade(req, socket, head);
    socket.destroy();
  });

  for (const service of options.services) mountService(app, service, options.authenticate, { includePrivate: options.includePrivate });
  mountFrontend(app, options.services);
  return app;
}
