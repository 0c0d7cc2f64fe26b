import type { FastifyInstance } from "fastify";
import { AppError, type ErrorCode } from "../../lib/errors";
import type { Route } from "../../lib/routes";
import { encodeRequest } from "../../lib/wire";
import { createApp } from "../../server/app";
import { listen } from "../../server/start";
import type { MountedService } from "../../server/mount";
import type { Logger } from "../../lib/log";

/** One internal call as it crossed the wire: route, request body and answer sizes in bytes, file count. */
export interface InternalCall {
  route: string;
  status: number;
  requestBytes: number;
  responseBytes: number;
  /** Files in the request (`files`) or in the answer (`files` of a read). */
  files: number;
}

/** A service served over HTTP with its private routes, as Encore's internal calls reach them. */
export interface InternalServer {
  url: string;
  calls: InternalCall[];
  close(): Promise<void>;
}

/**
 * Serves `service` over HTTP, private routes included, with the standalone server's request handling and
 * the given body limit (KILN_BODY_LIMIT_BYTES), recording the size of every call's request and answer.
 */
export async function serveInternally(service: MountedService, bodyLimitBytes: number, log: Logger): Promise<InternalServer> {
  const app: FastifyInstance = createApp({ services: [service], health: async () => [], bodyLimitBytes, includePrivate: true, log });
  const calls: InternalCall[] = [];
  app.addHook("onSend", async (request, reply, payload) => {
    const text = typeof payload === "string" ? payload : "";
    const body = request.body as { files?: unknown[] } | undefined;
    const answer = text.startsWith("{") ? (JSON.parse(text) as { files?: unknown[] }) : {};
    calls.push({
      route: `${request.method} ${request.routeOptions.url ?? request.url}`,
      status: reply.statusCode,
      requestBytes: Number(request.headers["content-length"] ?? 0),
      responseBytes: Buffer.byteLength(text),
      files: (request.method === "POST" && request.routeOptions.url?.endsWith("/read") ? answer.files?.length : body?.files?.length) ?? 0,
    });
    return payload;
  });
  const listening = await listen(app, { host: "127.0.0.1", port: 0, shutdownTimeoutMs: 5000 });
  return { url: listening.url, calls, close: () => listening.shutdown() };
}

/** A contract's client over HTTP: each method sends the request as the route encodes it; an error body becomes an AppError. */
export function httpContract<T>(routes: Record<string, Route>, baseUrl: string): T {
  const client: Record<string, (req?: Record<string, unknown>) => Promise<unknown>> = {};
  for (const [name, route] of Object.entries(routes)) {
    client[name] = async (req = {}) => {
      const { path, body } = encodeRequest(route, req);
      const response = await fetch(`${baseUrl}${path}`, { method: route.method, body, headers: body === undefined ? {} : { "content-type": "application/json" } });
      const text = await response.text();
      if (!response.ok) {
        const error = JSON.parse(text) as { code: ErrorCode; message: string };
        throw new AppError(error.code, error.message);
      }
      return text ? JSON.parse(text) : undefined;
    };
  }
  return client as T;
}
