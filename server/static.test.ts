import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiPrefixes, mountFrontend, resolveAsset } from "./static";

describe("the dashboard's static files", () => {
  let dir: string;
  let app: FastifyInstance;
  const services = [{ routes: { list: { method: "GET" as const, path: "/projects", expose: true, auth: true, fields: {} } } }];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "kiln-static-"));
    await mkdir(join(dir, "assets"));
    await writeFile(join(dir, "index.html"), "<!doctype html><div id=root></div>");
    await writeFile(join(dir, "assets", "app-abc123.js"), "console.log(1)");
    await writeFile(join(dir, "robots.txt"), "User-agent: *");
    await writeFile(join(tmpdir(), "kiln-static-secret.txt"), "secret");
    app = Fastify();
    app.get("/projects", async () => ({ projects: [] }));
    app.setNotFoundHandler((_req, reply) => reply.code(404).send({ code: "not_found", message: "endpoint not found", details: null }));
    expect(mountFrontend(app, services, dir)).toBe(true);
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
    await rm(dir, { recursive: true, force: true });
    await rm(join(tmpdir(), "kiln-static-secret.txt"), { force: true });
  });

  const get = (url: string, accept = "text/html") => app.inject({ method: "GET", url, headers: { accept } });

  it("serves index.html at / and files with their type; hashed assets are cached for good", async () => {
    const root = await get("/");
    expect(root.statusCode).toBe(200);
    expect(root.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(root.headers["cache-control"]).toBe("no-cache");
    expect(root.body).toContain("id=root");
    const asset = await get("/assets/app-abc123.js", "*/*");
    expect(asset.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(asset.headers["cache-control"]).toContain("immutable");
    expect((await get("/robots.txt", "*/*")).body).toBe("User-agent: *");
    const head = await app.inject({ method: "HEAD", url: "/" });
    expect(head.statusCode).toBe(200);
    expect(head.body).toBe("");
  });

  it("answers the SPA's own routes with index.html when a page is asked for", async () => {
    const page = await get("/p/proj_123?job=gen_1");
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain("id=root");
  });

  it("keeps API paths, missing assets and non-page requests as Encore's JSON 404", async () => {
    expect((await get("/projects")).json()).toEqual({ projects: [] });
    for (const [url, accept] of [
      ["/projects/x/unknown", "text/html"],
      ["/vfs-like-but-not", "application/json"],
      ["/assets/missing.js", "*/*"],
      ["/assets/missing.js", "text/html"],
      ["/healthz/extra", "text/html"],
    ] as const) {
      const response = await get(url, accept);
      expect(response.statusCode, url).toBe(404);
      expect(response.json()).toMatchObject({ code: "not_found" });
    }
  });

  it("never serves a file outside its directory", async () => {
    expect(resolveAsset(dir, "/../kiln-static-secret.txt")).toBeNull();
    expect(resolveAsset(dir, "/%2e%2e/kiln-static-secret.txt")).toBeNull();
    expect(resolveAsset(dir, "/assets/%00.js")).toBeNull();
    expect(resolveAsset(dir, "/assets")).toBeNull();
    const response = await get("/%2e%2e/kiln-static-secret.txt", "*/*");
    expect(response.body).not.toContain("secret");
  });

  it("mounts nothing when the dashboard is not built", () => {
    const bare = Fastify();
    expect(mountFrontend(bare, services, join(dir, "nope"))).toBe(false);
    expect(apiPrefixes(services)).toEqual(new Set(["healthz", "metrics", "projects"]));
  });
});
