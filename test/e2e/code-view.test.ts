/**
 * The code view in Chromium, on a project a generation wrote: search files by name and by content,
 * copy a file's text to the clipboard, download a file, see what its generation changed, open a file
 * from the thread's Write card, and the Code
 * tab's error notice keeps its own size instead of stretching over the pane.
 */
import { readFile } from "node:fs/promises";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitForGeneration } from "../support/generation";
import { startGenerationStack, type GenerationStack } from "../support/stack";
import { buildFrontend, launchChromium, watchConsole } from "./browser";
import { buildSession, SERVER_JS } from "./script";
import { signedInPage } from "./signed-in";

describe("the code view in a browser", () => {
  let stack: GenerationStack;
  let browser: Browser;
  let page: Page;
  let consoleLog: ReturnType<typeof watchConsole>;
  const hits = () => page.getByTestId("search-results").getByTestId("tree-file");

  beforeAll(async () => {
    buildFrontend();
    stack = await startGenerationStack({ script: buildSession });
    const projectId = (await stack.api.call("POST", "/projects", { name: "Code view", template: "blank" })).body.id;
    const job = (await stack.api.call("POST", "/generations", { projectId, prompt: "A welcome page" })).body;
    const done = await waitForGeneration(stack.api, job.id, 120_000);
    expect(done.status, `the generation ended ${done.status}: ${done.error}`).toBe("completed");
    browser = await launchChromium();
    ({ page, consoleLog } = await signedInPage(browser, stack.kiln.url, stack.token));
    await page.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: stack.kiln.url });
    await page.goto(`${stack.kiln.url}/p/${projectId}`);
    await page.getByRole("tab", { name: "Code" }).click();
    await page.getByTestId("file-viewer").waitFor();
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it("searches files by name, then by content with the matching line", async () => {
    const search = page.getByRole("searchbox", { name: "Search files by name or content" });
    await search.fill("server");
    await hits().nth(1).waitFor();
    // Names first (server.js), then files that say it (the page mentions "a tiny Node server").
    expect(await hits().evaluateAll((rows) => rows.map((r) => r.getAttribute("data-path")))).toEqual(["server.js", "index.html"]);
    expect(await hits().nth(1).textContent()).toMatch(/\d+: .*Node server/);

    await search.fill("createServer");
    const hit = page.locator("[data-testid=search-results] [data-testid=tree-file][data-path='server.js']");
    await hit.getByText(/^\d+: \.createServer/).waitFor();
    await search.fill("no file says this");
    await page.getByTestId("search-results").getByText("No file matches.").waitFor();
    await search.fill("createServer");
    await hit.click();
    await page.locator("[data-testid=file-viewer][data-path='server.js']").waitFor();
    await search.fill("");
  });

  it("copies the file's text to the clipboard", async () => {
    await page.getByTestId("file-copy").click();
    await page.getByTestId("file-copy").getByText("Copied").waitFor();
    expect(await page.evaluate("navigator.clipboard.readText()")).toBe(SERVER_JS);
  });

  it("downloads the file under its own name, byte for byte", async () => {
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("file-download").click()]);
    expect(download.suggestedFilename()).toBe("server.js");
    expect(await readFile((await download.path())!, "utf8")).toBe(SERVER_JS);
  });

  it("shows what the generation that wrote the file changed", async () => {
    await page.getByTestId("file-changes-toggle").click();
    const changes = page.getByTestId("file-changes");
    await changes.locator(".patch-add").first().waitFor();
    expect(await changes.textContent()).toContain("“A welcome page”");
    expect(await changes.locator(".patch-add").allTextContents()).toContain(`+${SERVER_JS.split("\n")[0]}\n`);
    await page.getByTestId("file-changes-toggle").click();
    await page.locator(".code-wrap").waitFor();
  });

  it("opens a file from the thread's Write card", async () => {
    await page.getByRole("tab", { name: "Preview" }).click();
    const card = page.locator("[data-testid=tool-card][data-tool=write_to_file]", { hasText: "server.js" });
    await card.locator(".tool-head").click();
    await card.getByTestId("tool-open-file").click();
    await page.locator("[data-testid=file-viewer][data-path='server.js']").waitFor();
    expect(await page.getByRole("tab", { name: "Code" }).getAttribute("aria-selected")).toBe("true");
  });

  it("keeps an error notice in the Code tab at its own size", async () => {
    await page.route("**/vfs/*/files?*", (route) => route.fulfill({ status: 503, contentType: "application/json", body: JSON.stringify({ code: "unavailable", message: "the vfs is down", details: null }) }));
    await page.reload();
    await page.getByRole("tab", { name: "Code" }).click();
    const notice = page.locator(".tab-body > .notice, [role=tabpanel] > .notice").first();
    await notice.waitFor();
    const [box, pane] = [await notice.boundingBox(), await page.locator(".right").boundingBox()];
    expect(box!.height).toBeLessThan(pane!.height / 2);
    expect(box!.width).toBeLessThan(pane!.width);
    await page.unroute("**/vfs/*/files?*");
    consoleLog.errors.splice(0);
  });

  it("logged no console errors", () => {
    expect(consoleLog.errors).toEqual([]);
  });
});
