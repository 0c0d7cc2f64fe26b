/**
 * A share link to the real vite-react template in a real browser: the page renders through the
 * gateway (its root-absolute modules moved under the link), an edit of src/App.tsx reaches it by hot
 * reload over the proxied WebSocket without a full reload, and the shared page cannot read the
 * dashboard's storage on Kiln's origin; the Share dialog makes, lists and revokes a link; and a visitor
 * of a stopped sandbox gets the waking page, whose own refresh ends on the app, hot reload working. No
 * console errors or failed requests along the way, but the waking page's own 503s.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ProjectsApi } from "../../projects/contract";
import type { Workspace, WorkspaceApi } from "../../workspace/contract";
import { client } from "../support/http";
import { startTestKiln, type TestKiln } from "../support/kiln";
import { startTestMongo, type TestMongo } from "../support/mongo";
import { NEEDS_REGISTRY } from "../support/templates";
import { buildFrontend, launchChromium, watchConsole } from "./browser";

describe("a share link to the vite-react template in a browser", () => {
  let mongo: TestMongo;
  let kiln: TestKiln;
  let browser: Browser;
  let page: Page;
  let ws: Workspace;
  let workspace: WorkspaceApi;
  let path: string;
  let projectId: string;
  let ownerToken: string;
  let consoleLog: ReturnType<typeof watchConsole>;

  beforeAll(async () => {
    buildFrontend();
    // The vfs as `npm start` has it (it refuses to run without MONGODB_URI): without one, the project
    // page's file list answers 503 and the dialog test would count the dashboard's own errors.
    mongo = await startTestMongo();
    kiln = await startTestKiln({ MONGODB_URI: mongo.uri, KILN_MONGODB_DATABASE: mongo.databaseName });
    const user = await kiln.createUser("alice");
    ownerToken = user.token;
    const projects = kiln.kiln.services.find((s) => s.name === "projects")!.impl as ProjectsApi;
    workspace = kiln.kiln.services.find((s) => s.name === "workspace")!.impl as WorkspaceApi;
    projectId = (await projects.create({ name: "Shared app", template: "vite-react" }, user)).id;
    const created = await workspace.create({ projectId, template: "vite-react" });
    for (;;) {
      ws = await workspace.get({ id: created.id });
      if (ws.status === "running") break;
      if (ws.status === "error") throw new Error(`the vite-react workspace did not start (${NEEDS_REGISTRY}): ${ws.lastError}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // A template's workspace starts its dev server itself: wait until its preview answers.
    const { url } = await workspace.preview({ id: ws.id });
    for (let tries = 0; !(await fetch(url).then((r) => r.ok, () => false)); tries++) {
      if (tries > 600) throw new Error(`the vite-react preview at ${url} never answered`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await projects.recordActivity({ id: projectId, workspaceId: ws.id, previewUrl: url });
    path = (await client(kiln.url, user.token).call("POST", `/projects/${projectId}/shares`, {})).body.path;
    browser = await launchChromium();
    page = await (await browser.newContext()).newPage();
    page.setDefaultTimeout(30_000);
    consoleLog = watchConsole(page);
    // The dashboard's token, as the signed-in owner's browser keeps it on Kiln's origin.
    await page.goto(`${kiln.url}/projects/health`);
    await page.evaluate("localStorage.setItem('kiln.token', 'the-owner-secret')");
  }, 600_000);
  afterAll(async () => {
    await browser?.close();
    await kiln?.close();
    await mongo?.close();
  });

  it("renders the app, takes a hot reload of an edit without reloading, and keeps Kiln's storage out of reach", async () => {
    consoleLog.phase.current = "first load";
    await page.goto(`${kiln.url}${path}`);
    await page.getByRole("heading", { name: "Your app starts here" }).waitFor();
    expect(await page.evaluate("localStorage.getItem('kiln.token')")).toBeNull();
    await page.evaluate("window.marker = 'still here'");

    consoleLog.phase.current = "hot reload";
    const app = (await workspace.readFiles({ id: ws.id, paths: ["src/App.tsx"] })).files[0]!;
    const edited = Buffer.from(app.contentBase64!, "base64").toString("utf8").replace("Your app starts here", "Shared and hot-reloaded");
    await workspace.writeFiles({ id: ws.id, files: [{ path: "src/App.tsx", contentBase64: Buffer.from(edited).toString("base64") }] });
    await page.getByRole("heading", { name: "Shared and hot-reloaded" }).waitFor();
    expect(await page.evaluate("window.marker")).toBe("still here");
    expect(consoleLog.errors).toEqual([]);
  });

  it("the Share dialog creates a link with an expiry, shows it once, lists it and revokes it", async () => {
    // The made-up token the first test left would be refused: sign in afresh.
    await page.goto(`${kiln.url}/projects/health`);
    await page.evaluate("localStorage.clear()");
    consoleLog.phase.current = "share dialog";
    await page.goto(kiln.url);
    await page.getByTestId("token-input").fill(ownerToken);
    await page.getByTestId("signin-submit").click();
    await page.getByRole("heading", { name: "What do you want to build?" }).waitFor();
    await page.goto(`${kiln.url}/p/${projectId}`);
    await page.getByTestId("share-open").click();
    await page.getByTestId("share-expiry").selectOption({ label: "1 day" });
    await page.getByTestId("share-create").click();
    const url = await page.getByTestId("share-url").inputValue();
    expect(url).toMatch(new RegExp(`^${kiln.url}/s/ks_[A-Za-z0-9_-]{43}/$`));
    const live = page.locator('[data-testid="share-item"][data-state="live"]');
    // Two live links: the one the first test made, and this one (its expiry a day away). The list
    // shows the first alone until its refetch after the create lands: wait for that, or the revoke
    // below would take the older link.
    await expect.poll(() => live.count()).toBe(2);
    const newest = (await client(kiln.url, ownerToken).call("GET", `/projects/${projectId}/shares`)).body.links[0];
    expect(Date.parse(newest.expiresAt) - Date.parse(newest.createdAt)).toBe(24 * 3600 * 1000);
    expect(await page.getByTestId("share-list").textContent()).not.toContain(url.split("/s/")[1]!.slice(12));

    const visitor = await page.context().browser()!.newPage();
    try {
      await visitor.goto(url);
      await visitor.getByRole("heading", { name: "Shared and hot-reloaded" }).waitFor();
      await live.first().getByTestId("share-revoke").click();
      await page.locator('[data-testid="share-item"][data-state="revoked"]').first().waitFor();
      expect((await visitor.goto(url))!.status()).toBe(404);
    } finally {
      await visitor.close();
    }
    expect(consoleLog.errors).toEqual([]);
  });

  it("wakes a stopped sandbox for a visitor: the waking page refreshes itself until the app is back, hot reload included", { timeout: 180_000 }, async () => {
    await workspace.stop({ id: ws.id });
    expect((await workspace.get({ id: ws.id })).status).toBe("stopped");
    const visitor = await browser.newPage();
    const visitorLog = watchConsole(visitor);
    try {
      visitorLog.phase.current = "waking";
      const first = await visitor.goto(`${kiln.url}${path}`);
      expect(first!.status()).toBe(503);
      await visitor.getByRole("heading", { name: "Waking up the app…" }).waitFor();
      // The test reloads nothing: the waking page's own refresh must end on the app.
      await visitor.getByRole("heading", { name: "Shared and hot-reloaded" }).waitFor({ timeout: 150_000 });
      expect((await workspace.get({ id: ws.id })).status).toBe("running");
      // Only the waking page's own 503s failed along the way.
      expect(visitorLog.errors.filter((e) => !/ 503 /.test(e.text))).toEqual([]);

      visitorLog.phase.current = "hot reload after waking";
      const seen = visitorLog.errors.length;
      await visitor.evaluate("window.marker = 'woken'");
      const app = (await workspace.readFiles({ id: ws.id, paths: ["src/App.tsx"] })).files[0]!;
      const edited = Buffer.from(app.contentBase64!, "base64").toString("utf8").replace("Shared and hot-reloaded", "Awake and hot-reloaded");
      await workspace.writeFiles({ id: ws.id, files: [{ path: "src/App.tsx", contentBase64: Buffer.from(edited).toString("base64") }] });
      await visitor.getByRole("heading", { name: "Awake and hot-reloaded" }).waitFor();
      expect(await visitor.evaluate("window.marker")).toBe("woken");
      expect(visitorLog.errors.slice(seen)).toEqual([]);
    } finally {
      await visitor.close();
    }
  });
});
