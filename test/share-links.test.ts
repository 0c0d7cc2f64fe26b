import http from "node:http";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { ProjectsApi } from "../projects/contract";
import type { VfsApi } from "../vfs/contract";
import type { WorkspaceApi } from "../workspace/contract";
import { client, type TestClient } from "./support/http";
import { runningWorkspace, startTestKiln, type TestKiln } from "./support/kiln";
import { startTestMongo, type TestMongo } from "./support/mongo";
import { SHARE_BODY_LIMIT_BYTES } from "../projects/share/gateway";
import { firstFrame, projectRunningShareApp, shareTestApp } from "./support/share-app";

let mongo: TestMongo;
let kiln: TestKiln;
let alice: TestClient;
let aliceToken: string;
let bob: TestClient;
let aliceAuth: { userID: string };
let projects: ProjectsApi;
let workspace: WorkspaceApi;
let vfs: VfsApi;

const impl = <T>(name: string) => kiln.kiln.services.find((s) => s.name === name)!.impl as T;

/** A request sent exactly as written (no URL normalisation, unlike fetch): status, headers, body. */
function raw(
  path: string,
  headers: Record<string, string> = {},
  options: { method?: string; body?: string | Buffer } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const { hostname, port } = new URL(kiln.url);
  return new Promise((resolve, reject) => {
    // Node frames no body of a DELETE by default: say its length (unless the test chose chunked).
    const length = options.body !== undefined && !headers["transfer-encoding"] ? { "content-length": String(Buffer.byteLength(options.body)) } : {};
    const req = http.request({ hostname, port, path, headers: { ...length, ...headers }, method: options.method ?? "GET" }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("error", reject);
    req.end(options.body);
  });
}

/** Opens a WebSocket at `path` on Kiln's port: the first text frame, or the status that refused it. */
const socket = (path: string) => firstFrame(kiln.url, path);

/** A project of alice's whose workspace runs the share test app as its dev server. */
const sharedProject = (name: string) => projectRunningShareApp(projects, workspace, aliceAuth, name);

async function link(projectId: string, body: Record<string, unknown> = {}): Promise<string> {
  const created = await alice.call("POST", `/projects/${projectId}/shares`, body);
  expect(created.status, created.text).toBe(200);
  return created.body.token;
}

let appA: string;
let appB: string;

beforeAll(async () => {
  mongo = await startTestMongo();
  kiln = await startTestKiln({ MONGODB_URI: mongo.uri, KILN_MONGODB_DATABASE: mongo.databaseName });
  const a = await kiln.createUser("alice");
  aliceAuth = { userID: a.userID };
  aliceToken = a.token;
  alice = client(kiln.url, a.token);
  bob = client(kiln.url, (await kiln.createUser("bob")).token);
  projects = impl<ProjectsApi>("projects");
  workspace = impl<WorkspaceApi>("workspace");
  vfs = impl<VfsApi>("vfs");
  appA = await sharedProject("App A");
  appB = await sharedProject("App B");
}, 120_000);
afterAll(async () => {
  vi.useRealTimers();
  await kiln?.close();
  await mongo?.close();
});

describe("share link endpoints", () => {
  it("creates a link (7 days by default) whose token is shown once, lists it without the token, and revokes it", async () => {
    const created = await alice.call("POST", `/projects/${appA}/shares`, {});
    expect(created.status).toBe(200);
    expect(created.body.token).toMatch(/^ks_[A-Za-z0-9_-]{43}$/);
    expect(created.body.path).toBe(`/s/${created.body.token}/`);
    expect(created.body.url).toBeNull();
    const lifetime = Date.parse(created.body.link.expiresAt) - Date.parse(created.body.link.createdAt);
    expect(lifetime).toBe(7 * 24 * 3600 * 1000);
    const listed = await alice.call("GET", `/projects/${appA}/shares`);
    expect(listed.status).toBe(200);
    expect(listed.text).not.toContain(created.body.token);
    expect(listed.body.links.map((l: { id: string }) => l.id)).toContain(created.body.link.id);
    const revoked = await alice.call("DELETE", `/projects/${appA}/shares/${created.body.link.id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).not.toBeNull();
  });

  it("takes an expiry within bounds and refuses a malformed one with 400 naming the field", async () => {
    const hour = await alice.call("POST", `/projects/${appA}/shares`, { expiresInSeconds: 3600 });
    expect(Date.parse(hour.body.link.expiresAt) - Date.parse(hour.body.link.createdAt)).toBe(3600 * 1000);
    for (const bad of ["soon", 1.5, 10, 31 * 24 * 3600, -1]) {
      const answer = await alice.call("POST", `/projects/${appA}/shares`, { expiresInSeconds: bad });
      expect(answer.status, String(bad)).toBe(400);
      expect(answer.body.code).toBe("invalid_argument");
      expect(answer.body.message).toContain("expiresInSeconds");
    }
  });

  it("answers another user's project, and a link of another project, with 404", async () => {
    expect((await bob.call("POST", `/projects/${appA}/shares`, {})).status).toBe(404);
    expect((await bob.call("GET", `/projects/${appA}/shares`)).status).toBe(404);
    const created = await alice.call("POST", `/projects/${appA}/shares`, {});
    expect((await bob.call("DELETE", `/projects/${appA}/shares/${created.body.link.id}`)).status).toBe(404);
    expect((await alice.call("DELETE", `/projects/${appB}/shares/${created.body.link.id}`)).status).toBe(404);
    expect((await raw(created.body.path)).status).toBe(200);
  });

  it("answers an unknown project or link with 404, a malformed body with 400, an over-long link id with 400, and a project past its live links with 429", async () => {
    for (const [method, path] of [["POST", "/projects/prj_missing/shares"], ["GET", "/projects/prj_missing/shares"], ["DELETE", "/projects/prj_missing/shares/shr_missing"]] as const) {
      const answer = await alice.call(method, path, method === "POST" ? {} : undefined);
      expect([path, answer.status, answer.body.code]).toEqual([path, 404, "not_found"]);
    }
    const unknown = await alice.call("DELETE", `/projects/${appA}/shares/shr_missing`);
    expect([unknown.status, unknown.body.message]).toEqual([404, 'share link "shr_missing" not found']);
    // A path parameter past the router's limit is refused before the handler, in Encore's shape.
    const long = await alice.call("DELETE", `/projects/${appA}/shares/${"l".repeat(101)}`);
    expect([long.status, long.body.code]).toEqual([400, "invalid_argument"]);
    const notJson = await fetch(`${kiln.url}/projects/${appA}/shares`, { method: "POST", headers: { authorization: `Bearer ${aliceToken}`, "content-type": "application/json" }, body: "{" });
    expect(notJson.status).toBe(400);

    const crowded = (await projects.create({ name: "Crowded", template: "blank" }, aliceAuth)).id;
    for (let i = 0; i < 20; i++) expect((await alice.call("POST", `/projects/${crowded}/shares`, {})).status).toBe(200);
    const over = await alice.call("POST", `/projects/${crowded}/shares`, {});
    expect([over.status, over.body.code]).toEqual([429, "resource_exhausted"]);
    expect(over.body.message).toContain("20 live share links: revoke one first");
    const listed = (await alice.call("GET", `/projects/${crowded}/shares`)).body.links;
    expect(listed).toHaveLength(20);
    await alice.call("DELETE", `/projects/${crowded}/shares/${listed[0].id}`);
    expect((await alice.call("POST", `/projects/${crowded}/shares`, {})).status).toBe(200);
  });
});

describe("the share gateway", () => {
  it("serves the preview with its root-absolute URLs under the link, isolated from Kiln's origin", async () => {
    const token = await link(appA);
    const page = await raw(`/s/${token}/`);
    expect(page.status).toBe(200);
    expect(page.body).toContain("<h1>App A</h1>");
    expect(page.body).toContain(`src="/s/${token}/src/main.js"`);
    expect(page.headers["content-security-policy"]).toMatch(/^sandbox allow-scripts/);
    expect(page.headers["content-security-policy"]).not.toContain("allow-same-origin");
    expect(page.headers["set-cookie"]).toBeUndefined();
    const module = await raw(`/s/${token}/src/main.js`);
    expect(module.body).toContain(`from "/s/${token}/src/dep.js"`);
    expect(module.body).toContain(`import("/s/${token}/src/lazy.js")`);
    const bare = await raw(`/s/${token}`);
    expect(bare.status).toBe(308);
    expect(bare.headers.location).toBe(`/s/${token}/`);
  });

  it("proxies the hot-reload WebSocket to the preview", async () => {
    const token = await link(appA);
    expect(await socket(`/s/${token}/?token=vite`)).toEqual({ status: 101, message: "hmr App A /?token=vite" });
  });

  it("answers a tampered, unknown, revoked or expired token with a bare 404, over HTTP and WebSocket", async () => {
    const token = await link(appA);
    const flipped = token.slice(0, -1) + (token.endsWith("A") ? "B" : "A");
    const revoked = await alice.call("POST", `/projects/${appA}/shares`, {});
    await alice.call("DELETE", `/projects/${appA}/shares/${revoked.body.link.id}`);
    const shortLived = await link(appA, { expiresInSeconds: 60 });
    expect((await raw(`/s/${shortLived}/`)).status).toBe(200);
    vi.useFakeTimers({ toFake: ["Date"], shouldAdvanceTime: true });
    vi.setSystemTime(Date.now() + 61_000);
    try {
      for (const bad of [flipped, "ks_short", "nonsense", revoked.body.token, shortLived]) {
        const answer = await raw(`/s/${bad}/`);
        expect(answer.status, bad).toBe(404);
        expect(answer.body).toBe("Not found");
        expect((await socket(`/s/${bad}/`)).status).toBe(404);
      }
    } finally {
      vi.useRealTimers();
    }
    expect((await raw(`/s/${token}/`)).status).toBe(200);
  });

  it("reaches nothing but its preview: no API through traversal or encoding, no other project, no Kiln credentials forwarded", async () => {
    const token = await link(appA);
    const tokenB = await link(appB);
    const auth = { authorization: `Bearer ${aliceToken}`, cookie: "kiln=1", "x-forwarded-for": "10.0.0.1", origin: kiln.url };
    for (const path of ["../projects", "%2e%2e/projects", "..%2fprojects", "%2e%2e%2f%2e%2e%2fprojects", "projects", "/projects", "../../projects/health", `../${tokenB}/`, "//example.invalid/"]) {
      const answer = await raw(`/s/${token}/${path}`, auth);
      expect(answer.body, path).toMatch(/^app App A path /);
      expect(answer.body).not.toContain("App B");
    }
    const echo = JSON.parse((await raw(`/s/${token}/echo`, auth)).body);
    expect(echo.name).toBe("App A");
    for (const header of ["authorization", "cookie", "x-forwarded-for", "origin"]) expect(echo.headers[header], header).toBeUndefined();
  });

  it("passes POST, PUT, PATCH and DELETE with their bodies to the app, without Kiln's credentials, and answers a preflight itself", async () => {
    const token = await link(appA);
    const auth = { authorization: `Bearer ${aliceToken}`, cookie: "kiln=1", "content-type": "application/json" };
    for (const method of ["POST", "PUT", "PATCH", "DELETE"]) {
      const answer = await raw(`/s/${token}/echo`, auth, { method, body: JSON.stringify({ method }) });
      expect(answer.status, `${method} ${answer.body}`).toBe(200);
      const echo = JSON.parse(answer.body);
      expect(echo).toMatchObject({ name: "App A", method, body: JSON.stringify({ method }) });
      expect(echo.headers["content-type"]).toBe("application/json");
      expect(echo.headers.authorization).toBeUndefined();
      expect(echo.headers.cookie).toBeUndefined();
    }
    const preflight = await raw(`/s/${token}/echo`, { origin: "null", "access-control-request-method": "POST", "access-control-request-headers": "content-type, authorization" }, { method: "OPTIONS" });
    expect(preflight.status).toBe(204);
    expect(preflight.headers["access-control-allow-methods"]).toContain("POST");
    expect(preflight.headers["access-control-allow-headers"]).toBe("content-type");
  });

  it("refuses a body over the limit with 413, CONNECT-like methods with 405, and a POST with Kiln's token reaches no API", async () => {
    const token = await link(appA);
    const big = Buffer.alloc(SHARE_BODY_LIMIT_BYTES + 1, 97);
    const tooBig = await raw(`/s/${token}/echo`, {}, { method: "POST", body: big });
    expect(tooBig.status).toBe(413);
    expect(tooBig.body).toContain(String(SHARE_BODY_LIMIT_BYTES));
    const chunked = await raw(`/s/${token}/echo`, { "transfer-encoding": "chunked" }, { method: "POST", body: big });
    expect(chunked.status).toBe(413);
    const propfind = await raw(`/s/${token}/echo`, {}, { method: "PROPFIND" });
    expect([404, 405]).toContain(propfind.status);
    expect(propfind.body).not.toContain("App A");
    const before = (await projects.list({}, aliceAuth)).projects.length;
    const sneaky = await raw(`/s/${token}/../../projects`, { authorization: `Bearer ${aliceToken}`, "content-type": "application/json" }, { method: "POST", body: JSON.stringify({ name: "via share" }) });
    expect(sneaky.body).toMatch(/^app App A path /);
    expect((await projects.list({}, aliceAuth)).projects.length).toBe(before);
  });

  it("closes an open hot-reload socket the moment its link is revoked", async () => {
    const created = await alice.call("POST", `/projects/${appA}/shares`, {});
    const { hostname, port } = new URL(kiln.url);
    const closed = await new Promise<boolean>((resolve, reject) => {
      const req = http.request({
        hostname,
        port,
        path: `/s/${created.body.token}/`,
        headers: { connection: "Upgrade", upgrade: "websocket", "sec-websocket-version": "13", "sec-websocket-key": randomBytes(16).toString("base64") },
      });
      req.on("upgrade", (_res, sock, head: Buffer) => {
        const greeted = async () => {
          sock.on("close", () => resolve(true));
          await alice.call("DELETE", `/projects/${appA}/shares/${created.body.link.id}`);
        };
        // The app's greeting may come with the upgrade's answer, or after it.
        if (head.length) void greeted();
        else sock.once("data", greeted);
      });
      req.on("response", () => reject(new Error("the socket was refused")));
      req.on("error", reject);
      req.end();
    });
    expect(closed).toBe(true);
    expect((await socket(`/s/${created.body.token}/`)).status).toBe(404);
  });

  it("answers a very long path as an unknown link, and headers past Node's limit with 431, never reaching the app", async () => {
    const token = await link(appA);
    const long = await raw(`/s/${token}/${"a".repeat(9000)}`);
    expect(long.status).toBe(404);
    expect(long.body).toBe("Not found");
    const huge = await raw(`/s/${token}/echo`, { "x-filler": "b".repeat(20_000) });
    expect(huge.status).toBe(431);
  });

  it("limits each link's rate on its own: a burst past its 300 is 429 with Retry-After, another link is untouched", { timeout: 90_000 }, async () => {
    // A project with no preview yet: every request the bucket lets through is answered 503 without reaching a sandbox.
    const quiet = (await projects.create({ name: "Burst", template: "blank" }, aliceAuth)).id;
    const [busy, other] = [await link(quiet), await link(quiet)];
    // Batches of 100 at once until the bucket runs dry (it refills at 50 a second, slower than they arrive).
    const answers: Awaited<ReturnType<typeof raw>>[] = [];
    while (answers.length < 3000 && !answers.some((a) => a.status === 429)) {
      answers.push(...(await Promise.all(Array.from({ length: 100 }, () => raw(`/s/${busy}/x`)))));
    }
    const limited = answers.filter((a) => a.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(answers.filter((a) => a.status === 503).length).toBeGreaterThanOrEqual(300);
    expect(answers.every((a) => a.status === 503 || a.status === 429)).toBe(true);
    expect(limited[0]!.headers["retry-after"]).toBe("1");
    expect(limited[0]!.body).toBe("Too many requests: slow down.");
    expect((await raw(`/s/${other}/x`)).status).toBe(503);
  });

  it("moves redirects to the preview's own host under the link and follows none", async () => {
    const token = await link(appA);
    const home = await raw(`/s/${token}/home`);
    expect(home.status).toBe(302);
    expect(home.headers.location).toBe(`/s/${token}/src/main.js`);
    const away = await raw(`/s/${token}/away`);
    expect(away.status).toBe(302);
    expect(away.headers.location).toBe("http://example.invalid/elsewhere");
  });
});

/** Asks for the link's page until it is no longer the waking page; the first answer must be it. */
async function wakeUp(token: string): Promise<{ status: number; body: string }> {
  const first = await raw(`/s/${token}/`);
  expect(first.status).toBe(503);
  expect(first.headers["content-type"]).toMatch(/^text\/html/);
  expect(first.body).toContain('<meta http-equiv="refresh" content="2">');
  expect(first.body).toContain("Waking up");
  return vi.waitFor(
    async () => {
      const page = await raw(`/s/${token}/`);
      if (page.status === 503) throw new Error("still waking");
      return page;
    },
    { timeout: 90_000, interval: 300 },
  );
}

describe("waking a stopped sandbox", () => {
  it("starts it on the first visit behind a page that refreshes itself, then serves the app and its socket", { timeout: 120_000 }, async () => {
    const token = await link(appB);
    const workspaceId = (await projects.get({ id: appB }, aliceAuth)).workspaceId!;
    await workspace.stop({ id: workspaceId });
    expect((await workspace.get({ id: workspaceId })).status).toBe("stopped");
    const page = await wakeUp(token);
    expect(page.status).toBe(200);
    expect(page.body).toContain("<h1>App B</h1>");
    expect((await workspace.get({ id: workspaceId })).status).toBe("running");
    expect(await socket(`/s/${token}/`)).toEqual({ status: 101, message: "hmr App B /" });
  });
});

describe("re-creating a deleted sandbox", () => {
  /** A shared project whose latest version holds a newer app than its sandbox ran. */
  async function versionedProject(name: string): Promise<{ projectId: string; workspaceId: string; token: string }> {
    const projectId = await sharedProject(name);
    const workspaceId = (await projects.get({ id: projectId }, aliceAuth)).workspaceId!;
    const b64 = (text: string) => Buffer.from(text).toString("base64");
    const files = [
      { path: "app.mjs", contentBase64: b64(shareTestApp(`${name} v2`)) },
      { path: "package.json", contentBase64: b64(JSON.stringify({ type: "module", scripts: { dev: "node app.mjs" } })) },
      { path: "notes/latest.txt", contentBase64: b64("latest") },
    ];
    await workspace.writeFiles({ id: workspaceId, files });
    await vfs.backupWorkspace({ projectId, workspaceId, label: "latest" }, aliceAuth);
    return { projectId, workspaceId, token: await link(projectId) };
  }

  it("re-creates the workspace on the first visit, restores the latest version and serves it with its socket", { timeout: 120_000 }, async () => {
    const { projectId, workspaceId, token } = await versionedProject("App D");
    await workspace.del({ id: workspaceId });
    const page = await wakeUp(token);
    expect(page.status).toBe(200);
    expect(page.body).toContain("<h1>App D v2</h1>");
    const project = await projects.get({ id: projectId }, aliceAuth);
    expect(project.workspaceId).not.toBe(workspaceId);
    const fresh = await workspace.get({ id: project.workspaceId! });
    expect(fresh.status).toBe("running");
    const restored = await workspace.readFiles({ id: fresh.id, paths: ["notes/latest.txt"] });
    expect(Buffer.from(restored.files[0]!.contentBase64 ?? "", "base64").toString()).toBe("latest");
    expect((await workspace.get({ id: workspaceId })).status).toBe("deleted");
    expect(await socket(`/s/${token}/`)).toEqual({ status: 101, message: "hmr App D v2 /" });
  });

  it("re-creates it once when the workspace's row is gone (its dev command with it) and visitors keep coming", { timeout: 120_000 }, async () => {
    const { projectId, workspaceId, token } = await versionedProject("App E");
    await workspace.del({ id: workspaceId });
    await kiln.kiln.databases.pool("workspace").query("DELETE FROM workspaces WHERE id = $1", [workspaceId]);
    const visits = await Promise.all([1, 2, 3, 4].map(() => raw(`/s/${token}/`)));
    expect(visits.map((v) => v.status)).toEqual([503, 503, 503, 503]);
    const page = await wakeUp(token);
    expect(page.body).toContain("<h1>App E v2</h1>");
    const rows = await kiln.kiln.databases.pool("workspace").query("SELECT id FROM workspaces WHERE project_id = $1 AND status <> 'deleted'", [projectId]);
    expect(rows.rows.map((r) => r.id)).toEqual([(await projects.get({ id: projectId }, aliceAuth)).workspaceId]);
  });
});
