/**
 * The History panel in a real browser against the standalone server and a scripted model: two
 * generations leave two versions (thumbnail, prompt, time, files changed); the newer one's diff shows
 * the line the follow-up changed; restoring the older one after a confirmation brings its files back as
 * a new version; forking opens a new project with those files. No console errors along the way.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { helloAppSession } from "../fakes/anthropic/sessions/hello-app";
import { waitForGeneration } from "../support/generation";
import { client, type TestClient } from "../support/http";
import { startGenerationStack, type GenerationStack } from "../support/stack";
import { buildFrontend, launchChromium, RESULTS_DIR, watchConsole } from "./browser";

describe("the History panel in a browser", () => {
  let stack: GenerationStack;
  let api: TestClient;
  let browser: Browser;
  let page: Page;
  let consoleLog: ReturnType<typeof watchConsole>;
  let projectId: string;

  const versionItems = () => page.getByTestId("version-item");
  const indexHtml = async (id: string) => Buffer.from((await api.call("GET", `/vfs/${id}/file?path=index.html`)).body.contentBase64, "base64").toString();

  beforeAll(async () => {
    buildFrontend();
    await mkdir(RESULTS_DIR, { recursive: true });
    stack = await startGenerationStack({ script: helloAppSession });
    api = client(stack.kiln.url, stack.token);
    projectId = (await api.call("POST", "/projects", { name: "Versioned", template: "blank" })).body.id;
    for (const prompt of ["Build a hello page", "Say it louder"]) {
      const job = (await api.call("POST", "/generations", { projectId, prompt })).body;
      expect((await waitForGeneration(api, job.id, 120_000)).status).toBe("completed");
    }
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
    page.setDefaultTimeout(20_000);
    consoleLog = watchConsole(page);
    await page.goto(stack.kiln.url);
    await page.getByTestId("token-input").fill(stack.token);
    await page.getByTestId("signin-submit").click();
    await page.getByRole("heading", { name: "What do you want to build?" }).waitFor();
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it("lists the versions with thumbnail, prompt, time and files changed, and shows a version's diff", async () => {
    await page.goto(`${stack.kiln.url}/p/${projectId}`);
    await page.getByTestId("tab-history").click();
    await versionItems().nth(1).waitFor();
    expect(await versionItems().count()).toBe(2);
    const [newer, older] = [versionItems().nth(0), versionItems().nth(1)];
    expect(await newer.textContent()).toContain("Say it louder");
    expect(await newer.getByTestId("version-changes").textContent()).toBe("1 file · +1 −1");
    expect(await older.textContent()).toContain("Build a hello page");
    await page.getByTestId("version-thumbnail").nth(1).waitFor();

    await newer.click();
    const patch = page.locator("[data-testid=diff-file][data-path='index.html'] pre");
    await patch.waitFor();
    expect(await patch.textContent()).toMatch(/\+.*Follow-up: Say it louder/);
    // The current version cannot be restored onto itself.
    expect(await page.getByTestId("restore-version").isDisabled()).toBe(true);
    await page.screenshot({ path: join(RESULTS_DIR, "history-diff.png") });
  });

  it("restores the older version after a confirmation, as a new version", async () => {
    await versionItems().nth(1).click();
    await page.getByTestId("restore-version").click();
    await page.getByTestId("restore-confirm").waitFor();
    expect(await indexHtml(projectId)).toContain("Say it louder");
    await page.getByTestId("restore-confirm-yes").click();
    await page.locator("[data-testid=version-item][data-kind=restore]").waitFor();
    expect(await versionItems().count()).toBe(3);
    expect(await versionItems().nth(0).textContent()).toContain("Restored the version “Build a hello page”");
    expect(await indexHtml(projectId)).not.toContain("Say it louder");
  });

  it("forks a version into a new project and opens it", async () => {
    await versionItems().nth(2).click();
    await page.getByTestId("fork-version").click();
    await page.waitForURL((url) => !url.pathname.includes(projectId));
    await page.getByTestId("project-title").getByText("Versioned (fork)").waitFor();
    const forkId = decodeURIComponent(new URL(page.url()).pathname.split("/")[2]!);
    expect(await indexHtml(forkId)).toContain("Hello from Kiln");
  });

  it("logged no console errors", () => {
    expect(consoleLog.errors).toEqual([]);
  });
});
