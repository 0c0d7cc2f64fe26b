import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ProjectsApi } from "../projects/contract";
import type { WorkspaceApi } from "../workspace/contract";
import { client, type TestClient } from "./support/http";
import { startTestKiln, type TestKiln } from "./support/kiln";
import { firstFrame, projectRunningShareApp } from "./support/share-app";

let kiln: TestKiln;
let alice: TestClient;
let aliceToken: string;
let aliceAuth: { userID: string };

type Answer = { status: number; headers: http.IncomingHttpHeaders; body: string };

/** A request to the share listener for `host` (as a browser resolving `*.share.localhost` would send it). */
function visit(host: string, path: string, headers: Record<string, string> = {}, method = "GET", body?: string): Promise<Answer> {
  const { hostname, port } = new URL(kiln.shareUrl!);
  const length = body === undefined ? {} : { "content-length": String(Buffer.byteLength(body)) };
  return new Promise((resolve, reject) => {
    const req = http.request({ hostname, port, path, method, headers: { host, ...length, ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** Opens a WebSocket on the share listener for `host`: the first text frame, or the status that refused it. */
const socket = (host: string, path: string, cookie?: string) => firstFrame(kiln.shareUrl!, path, { host, ...(cookie ? { cookie } : {}) });

/** A shared project running the share test app; its link's own host and the cookie its entry sets. */
async function shared(name: string): Promise<{ projectId: string; host: string; cookie: string; url: string; linkId: string }> {
  const projects = kiln.kiln.services.find((s) => s.name === "projects")!.impl as ProjectsApi;
  const workspace = kiln.kiln.services.find((s) => s.name === "workspace")!.impl as WorkspaceApi;
  const projectId = await projectRunningShareApp(projects, workspace, aliceAuth, name);
  const created = await alice.call("POST", `/projects/${projectId}/shares`, {});
  expect(created.status, created.text).toBe(200);
  const url = new URL(created.body.url);
  const entry = await visit(url.host, `${url.pathname}src/main.js`);
  expect(entry.status).toBe(303);
  expect(entry.headers.location).toBe("/src/main.js");
  const setCookie = entry.headers["set-cookie"]![0]!;
  expect(setCookie).toMatch(/^kiln_share=ks_[A-Za-z0-9_-]{43}; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Lax$/);
  return { projectId, host: url.host, cookie: setCookie.split(";")[0]!, url: created.body.url, linkId: created.body.link.id };
}

let a: Awaited<ReturnType<typeof shared>>;
let b: Awaited<ReturnType<typeof shared>>;

beforeAll(async () => {
  kiln = await startTestKiln({ KILN_SHARE_PORT: "0", KILN_SHARE_ORIGIN: "http://share.localhost" });
  const user = await kiln.createUser("alice");
  aliceAuth = { userID: user.userID };
  aliceToken = user.token;
  alice = client(kiln.url, user.token);
  a = await shared("Origin A");
  b = await shared("Origin B");
}, 120_000);
afterAll(async () => {
  await kiln?.close();
});

describe("share links on a host of their own", () => {
  it("gives each link its own host, where the token becomes a host-only cookie and every absolute path is the app's", async () => {
    expect(a.url).toMatch(/^http:\/\/[0-9a-z]+\.share\.localhost\/s\/ks_[A-Za-z0-9_-]{43}\/$/);
    expect(a.host).not.toBe(b.host);
    const page = await visit(a.host, "/", { cookie: a.cookie });
    expect(page.status).toBe(200);
    expect(page.body).toContain('<script type="module" src="/src/main.js"></script><h1>Origin A</h1>');
    expect(page.headers["content-security-policy"]).toBeUndefined();
    expect(page.headers["set-cookie"]).toBeUndefined();
    // What an app builds at run time: fetch("/api/x"), and a path that on Kiln's origin is its API.
    expect((await visit(a.host, "/api/x?q=1", { cookie: a.cookie })).body).toBe("app Origin A path /api/x?q=1");
    expect((await visit(a.host, "/projects", { cookie: a.cookie, authorization: `Bearer ${aliceToken}` })).body).toBe("app Origin A path /projects");
    const echo = JSON.parse((await visit(a.host, "/echo", { cookie: `${a.cookie}; other=1`, authorization: `Bearer ${aliceToken}`, "content-type": "text/plain" }, "POST", "hello")).body);
    expect(echo).toMatchObject({ name: "Origin A", method: "POST", body: "hello" });
    expect(echo.headers.cookie).toBeUndefined();
    expect(echo.headers.authorization).toBeUndefined();
    expect(await socket(a.host, "/?token=vite", a.cookie)).toEqual({ status: 101, message: "hmr Origin A /?token=vite" });
  });

  it("grants nothing else: no cookie, another link's cookie, a tampered or revoked one, the bare share host and Kiln's API all answer 404", async () => {
    const flipped = a.cookie.slice(0, -1) + (a.cookie.endsWith("A") ? "B" : "A");
    for (const [host, cookie] of [[a.host, ""], [a.host, b.cookie], [b.host, a.cookie], [a.host, flipped], ["share.localhost", a.cookie], ["evil.example", a.cookie], [`x.${a.host}`, a.cookie]] as const) {
      const answer = await visit(host, "/", cookie ? { cookie } : {});
      expect(answer.status, `${host} ${cookie}`).toBe(404);
      expect(answer.body).toBe("Not found");
      expect((await socket(host, "/", cookie || undefined)).status).toBe(404);
    }
    // b's link entered on a's host is refused, and sets no cookie there.
    const wrongHost = await visit(a.host, new URL(b.url).pathname);
    expect(wrongHost.status).toBe(404);
    expect(wrongHost.headers["set-cookie"]).toBeUndefined();
    for (const path of ["/projects", "/healthz", "/vfs/x/versions"]) expect((await visit("share.localhost", path, { authorization: `Bearer ${aliceToken}` })).status).toBe(404);
    await alice.call("DELETE", `/projects/${b.projectId}/shares/${b.linkId}`);
    expect((await visit(b.host, "/", { cookie: b.cookie })).status).toBe(404);
  });

  it("keeps /s/<token>/ on Kiln's own port working beside it", async () => {
    const token = a.cookie.split("=")[1]!;
    const page = await fetch(`${kiln.url}/s/${token}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(`src="/s/${token}/src/main.js"`);
  });
});
