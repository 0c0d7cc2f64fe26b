/**
 * A share link opened on its own host in a real browser: with KILN_SHARE_PORT set, the link's url is
 * http://<link id>.share.localhost:<port>/s/<token>/ (Chromium resolves *.localhost to loopback), the
 * entry turns the token into a host-only cookie and every absolute path on that host is the app's. The
 * real vite-react template renders there unrewritten, a fetch of an absolute path the page makes at run
 * time reaches the app (under /s/ on Kiln's origin it would reach Kiln's root), the app's own storage
 * survives a reload, Vite's hot-reload socket connects to the link's host and carries an edit, and
 * revoking the link closes that socket and refuses the host. No console errors or failed requests
 * until the revoke.
 */
import type { Browser, Page, WebSocket } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ProjectsApi } from "../../projects/contract";
import type { Workspace, WorkspaceApi } from "../../workspace/contract";
import { client, type TestClient } from "../support/http";
import { startTestKiln, type TestKiln } from "../support/kiln";
import { startTestMongo, type TestMongo } from "../support/mongo";
import { NEEDS_REGISTRY } from "../support/templates";
import { reservePort } from "../support/ports";
import { launchChromium, watchConsole } from "./browser";

describe("a share link on its own host in a browser", () => {
  let mongo: TestMongo;
  let kiln: TestKiln;
  let browser: Browser;
  let page: Page;
  let ws: Workspace;
  let workspace: WorkspaceApi;
  let owner: TestClient;
  let projectId: string;
  let link: { id: string; url: string };
  let sharePort: number;
  let consoleLog: ReturnType<typeof watchConsole>;
  const sockets: WebSocket[] = [];

  beforeAll(async () => {
    mongo = await startTestMongo();
    sharePort = await reservePort();
    // KILN_SHARE_ORIGIN left unset: its default, http://share.localhost:<KILN_SHARE_PORT>, is what a browser on this machine opens.
    kiln = await startTestKiln({ MONGODB_URI: mongo.uri, KILN_MONGODB_DATABASE: mongo.databaseName, KILN_SHARE_PORT: String(sharePort) });
    const user = await kiln.createUser("alice");
    owner = client(kiln.url, user.token);
    const projects = kiln.kiln.services.find((s) => s.name === "projects")!.impl as ProjectsApi;
    workspace = kiln.kiln.services.find((s) => s.name === "workspace")!.impl as WorkspaceApi;
    projectId = (await projects.create({ name: "Shared on its host", template: "vite-react" }, user)).id;
    const created = await workspace.create({ projectId, template: "vite-react" });
    for (;;) {
      ws = await workspace.get({ id: created.id });
      if (ws.status === "running") break;
      if (ws.status === "error") throw new Error(`the vite-react workspace did not start (${NEEDS_REGISTRY}): ${ws.lastError}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // What the app fetches by absolute path at run time: a file Vite serves from public/ at the root.
    await workspace.writeFiles({ id: ws.id, files: [{ path: "public/data.json", contentBase64: Buffer.from('{"from":"the app"}').toString("base64") }] });
    const { url } = await workspace.preview({ id: ws.id });
    for (let tries = 0; !(await fetch(url).then((r) => r.ok, () => false)); tries++) {
      if (tries > 600) throw new Error(`the vite-react preview at ${url} never answered`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await projects.recordActivity({ id: projectId, workspaceId: ws.id, previewUrl: url });
    const shared = await owner.call("POST", `/projects/${projectId}/shares`, {});
    expect(shared.status, shared.text).toBe(200);
    link = { id: shared.body.link.id, url: shared.body.url };
    browser = await launchChromium();
    page = await (await browser.newContext()).newPage();
    page.setDefaultTimeout(30_000);
    page.on("websocket", (socket) => sockets.push(socket));
    consoleLog = watchConsole(page);
  }, 600_000);
  afterAll(async () => {
    await browser?.close();
    await kiln?.close();
    await mongo?.close();
  });

  it("names the link's own host in its url, on the share listener's port", () => {
    expect(kiln.shareUrl).toBe(`http://127.0.0.1:${sharePort}`);
    const label = link.id.replace(/^shr_/, "");
    expect(link.url).toMatch(new RegExp(`^http://${label}\\.share\\.localhost:${sharePort}/s/ks_[A-Za-z0-9_-]{43}/$`));
  });

  it("opens the app on that host, where an absolute-path fetch reaches the app and its storage survives a reload", async () => {
    consoleLog.phase.current = "first load";
    const host = new URL(link.url).host;
    await page.goto(link.url);
    await page.getByRole("heading", { name: "Your app starts here" }).waitFor();
    // The entry answered 303 to the app's root, the token now a cookie the page cannot read.
    expect(page.url()).toBe(`http://${host}/`);
    expect(await page.evaluate("document.cookie")).toBe("");
    // Served as the app wrote it: no /s/<token>/ moved into its module URLs, no CSP sandbox (its origin is its own).
    const scripts = await page.evaluate("[...document.scripts].map((s) => s.getAttribute('src')).filter(Boolean)");
    expect(scripts).toContain("/src/main.tsx");
    expect(await page.evaluate("window.origin")).toBe(`http://${host}`);

    consoleLog.phase.current = "absolute fetch";
    expect(await page.evaluate("fetch('/data.json').then((r) => r.json())")).toEqual({ from: "the app" });

    consoleLog.phase.current = "storage";
    await page.evaluate("localStorage.setItem('saved', 'kept')");
    // The socket of the page before the reload is gone with it (Playwright never reports its close): count only the new page's.
    sockets.length = 0;
    await page.reload();
    await page.getByRole("heading", { name: "Your app starts here" }).waitFor();
    expect(await page.evaluate("localStorage.getItem('saved')")).toBe("kept");
    expect(consoleLog.errors).toEqual([]);
  });

  it("connects Vite's hot-reload socket to the link's host and takes an edit without reloading", async () => {
    consoleLog.phase.current = "hot reload";
    const host = new URL(link.url).host;
    await expect.poll(() => sockets.filter((s) => s.url().startsWith(`ws://${host}/`) && !s.isClosed()).length).toBeGreaterThan(0);
    await page.evaluate("window.marker = 'still here'");
    const app = (await workspace.readFiles({ id: ws.id, paths: ["src/App.tsx"] })).files[0]!;
    const edited = Buffer.from(app.contentBase64!, "base64").toString("utf8").replace("Your app starts here", "Hot-reloaded on its own host");
    await workspace.writeFiles({ id: ws.id, files: [{ path: "src/App.tsx", contentBase64: Buffer.from(edited).toString("base64") }] });
    await page.getByRole("heading", { name: "Hot-reloaded on its own host" }).waitFor();
    expect(await page.evaluate("window.marker")).toBe("still here");
    expect(consoleLog.errors).toEqual([]);
  });

  it("closes the open socket when the link is revoked, and the host then answers 404", async () => {
    const host = new URL(link.url).host;
    const open = sockets.filter((s) => s.url().startsWith(`ws://${host}/`) && !s.isClosed());
    expect(open).toHaveLength(1);
    const closed = new Promise<void>((done) => open[0]!.on("close", () => done()));
    consoleLog.phase.current = "revoked";
    expect((await owner.call("DELETE", `/projects/${projectId}/shares/${link.id}`)).status).toBe(200);
    await closed;
    const visitor = await browser.newPage();
    try {
      // A fresh visitor with no cookie, and the page that holds one: both refused.
      expect((await visitor.goto(`http://${host}/`))!.status()).toBe(404);
      expect((await visitor.goto(link.url))!.status()).toBe(404);
    } finally {
      await visitor.close();
    }
    const again = await page.goto(`http://${host}/`);
    expect(again!.status()).toBe(404);
    expect(await page.textContent("body")).toBe("Not found");
  });
});
