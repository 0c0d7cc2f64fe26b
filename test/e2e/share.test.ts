/**
 * A share link to the real vite-react template in a real browser: the page renders through the
 * gateway (its root-absolute modules moved under the link), an edit of src/App.tsx reaches it by hot
 * reload over the proxied WebSocket without a full reload, and the shared page cannot read the
 * dashboard's storage on Kiln's origin. No console errors or failed requests along the way.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ProjectsApi } from "../../projects/contract";
import type { Workspace, WorkspaceApi } from "../../workspace/contract";
import { client } from "../support/http";
import { startTestKiln, type TestKiln } from "../support/kiln";
import { NEEDS_REGISTRY } from "../support/templates";
import { launchChromium, watchConsole } from "./browser";

describe("a share link to the vite-react template in a browser", () => {
  let kiln: TestKiln;
  let browser: Browser;
  let page: Page;
  let ws: Workspace;
  let workspace: WorkspaceApi;
  let path: string;
  let consoleLog: ReturnType<typeof watchConsole>;

  beforeAll(async () => {
    kiln = await startTestKiln();
    const user = await kiln.createUser("alice");
    const projects = kiln.kiln.services.find((s) => s.name === "projects")!.impl as ProjectsApi;
    workspace = kiln.kiln.services.find((s) => s.name === "workspace")!.impl as WorkspaceApi;
    const projectId = (await projects.create({ name: "Shared app", template: "vite-react" }, user)).id;
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
});
