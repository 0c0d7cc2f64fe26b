import { createReadStream, existsSync, statSync } from "node:fs";
import { extname, join, normalize, resolve, sep } from "node:path";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Route } from "../lib/routes";
import { rootPath } from "../lib/root";

/** Where `npm run build:frontend` puts the dashboard. */
export const DEFAULT_FRONTEND_DIR = rootPath("frontend", "dist");

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".ico": "image/x-icon",
  ".woff": "font/woff",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
  ".webmanifest": "application/manifest+json",
};

/** The first path segment of every route (`projects`, `vfs`, ...) plus `healthz` and `metrics`: paths the SPA never owns. */
export function apiPrefixes(services: { routes: Record<string, Route> }[]): Set<string> {
  const prefixes = new Set(["healthz", "metrics"]);
  for (const service of services) {
    for (const route of Object.values(service.routes)) {
      const first = route.path.split("/").filter(Boolean)[0];
      if (first) prefixes.add(first);
    }
  }
  return prefixes;
}

/** The file under `root` that `urlPath` names, or null (missing, a directory, or outside `root`). */
export function resolveAsset(root: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes("\0")) return null;
  const file = resolve(root, `.${sep}${normalize(decoded).replace(/^([/\\])+/, "")}`);
  if (file !== root && !file.startsWith(root + sep)) return null;
  try {
    return statSync(file).isFile() ? file : null;
  } catch {
    return null;
  }
}

function send(reply: FastifyReply, file: string, method: string, cache: string): FastifyReply {
  const size = statSync(file).size;
  reply
    .code(200)
    .header("content-type", TYPES[extname(file).toLowerCase()] ?? "application/octet-stream")
    .header("content-length", size)
    .header("cache-control", cache)
    .header("x-content-type-options", "nosniff");
  return method === "HEAD" ? reply.send() : reply.send(createReadStream(file));
}

/**
 * Serves the built dashboard at `/` when `root` holds an `index.html`: its files as they are (hashed
 * `assets/` cached for a year), and `index.html` for any other GET that is not an API path and asks
 * for a page (the SPA's own routes, e.g. `/p/<project id>`). API paths that match no route keep
 * answering Encore's 404 JSON. Returns whether the dashboard was mounted.
 */
export function mountFrontend(
  app: FastifyInstance,
  services: { routes: Record<string, Route> }[],
  root: string = DEFAULT_FRONTEND_DIR,
): boolean {
  const dir = resolve(root);
  const index = join(dir, "index.html");
  if (!existsSync(index)) return false;
  const api = apiPrefixes(services);

  app.get("/*", async (request: FastifyRequest, reply: FastifyReply) => {
    const path = (request.raw.url ?? "/").split("?")[0]!;
    const first = path.split("/").filter(Boolean)[0] ?? "";
    if (api.has(first)) return reply.callNotFound();
    const file = path === "/" ? index : resolveAsset(dir, path);
    if (file && file !== index) {
      const immutable = path.startsWith("/assets/");
      return send(reply, file, request.method, immutable ? "public, max-age=31536000, immutable" : "no-cache");
    }
    // Only a page navigation gets the app's HTML; a missing asset or an API-style call gets the 404.
    const wantsPage = file === index || (!extname(path) && (request.headers.accept ?? "").includes("text/html"));
    if (!wantsPage) return reply.callNotFound();
    return send(reply, index, request.method, "no-cache");
  });
  return true;
}
