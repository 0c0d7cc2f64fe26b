import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { AppError } from "../lib/errors";
import type { AuthData, RawHandler, Route } from "../lib/routes";
import { decodeRequest, type QueryValue } from "../lib/wire";

/** A service as the standalone server mounts it: its route table and its implementation. */
export interface MountedService {
  name: string;
  routes: Record<string, Route>;
  impl: object;
}

/** Verifies a request's `Authorization` header (the same function Encore's auth handler runs). */
export type Authenticate = (authorization: string | undefined) => Promise<AuthData>;

/** Handles an HTTP `upgrade` (WebSocket) request the server received. */
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** What a raw route of method `"*"` answers (Encore's `"*"`); HEAD comes with GET. */
const ANY_METHOD = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/** Encore path syntax to Fastify's: `:id` stays, a trailing `*rest` or `!rest` becomes `*`. */
export function toFastifyPath(path: string): string {
  return path.replace(/\/[*!][A-Za-z_][A-Za-z0-9_]*$/, "/*");
}

function paramsOf(route: Route, request: FastifyRequest): Record<string, string> {
  const params = { ...(request.params as Record<string, string>) };
  const wildcard = /\/[*!]([A-Za-z_][A-Za-z0-9_]*)$/.exec(route.path);
  if (wildcard && params["*"] !== undefined) {
    params[wildcard[1]!] = params["*"]!;
    delete params["*"];
  }
  return params;
}

async function authOf(route: Route, request: FastifyRequest, authenticate?: Authenticate): Promise<AuthData | undefined> {
  if (!route.auth) return undefined;
  if (!authenticate) throw new AppError("unauthenticated", "authentication is not configured on this server");
  return authenticate(request.headers.authorization);
}

/**
 * Mounts every exposed route of `service` on `app`. Private routes (`expose: false`) stay unmounted,
 * as under Encore, where they answer 404 from outside: other services call them in-process. With
 * `includePrivate` they are mounted too, as on Encore's service-to-service path: tests use it to make
 * internal calls over HTTP, with the body limits Encore would apply.
 */
export function mountService(app: FastifyInstance, service: MountedService, authenticate?: Authenticate, options: { includePrivate?: boolean } = {}): void {
  const impl = service.impl as Record<string, (...args: unknown[]) => Promise<unknown>>;
  for (const [name, route] of Object.entries(service.routes)) {
    if (!route.expose && !options.includePrivate) continue;
    const method = impl[name];
    if (typeof method !== "function") throw new Error(`${service.name}.${name} has a route but no implementation`);
    app.route({
      method: route.method === "*" ? ANY_METHOD : route.method,
      url: toFastifyPath(route.path),
      config: { raw: route.raw === true },
      // A route that declares Encore's bodyLimit takes that much here too (never less than the server's own limit).
      ...(route.bodyLimit === undefined ? {} : { bodyLimit: Math.max(route.bodyLimit, app.initialConfig.bodyLimit ?? 0) }),
      // A raw handler gets the request before its body is read (as under Encore, it reads the stream itself).
      ...(route.raw
        ? {
            onRequest: async (request: FastifyRequest, reply: FastifyReply) => {
              const auth = await authOf(route, request, authenticate);
              reply.hijack();
              await (method as RawHandler).call(impl, request.raw, reply.raw, paramsOf(route, request), auth);
            },
          }
        : {}),
      handler: async (request: FastifyRequest, reply: FastifyReply) => {
        const auth = await authOf(route, request, authenticate);
        const params = paramsOf(route, request);
        const input = decodeRequest(route, params, request.query as Record<string, QueryValue>, request.body);
        const result = await method.call(impl, input, auth);
        if (result === undefined) return reply.code(200).send();
        return reply.code(200).send(result);
      },
    });
  }
}
