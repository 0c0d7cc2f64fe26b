/**
 * The dashboard on a 390 px phone in Chromium: the projects page, a project's page and the tokens page
 * never scroll sideways, even with a 100-character project name; the top bar's controls (API tokens,
 * Sign out, Download ZIP) can all be reached, none covering another, and the project's name keeps a
 * width; an empty project's Download ZIP is disabled and says why.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGenerationStack, type GenerationStack } from "../support/stack";
import { buildFrontend, launchChromium, RESULTS_DIR, watchConsole } from "./browser";
import { horizontalOverflow, reachable, signedInPage } from "./signed-in";

const LONG_NAME = "A project with a rather long name that goes on and on: ".concat("x".repeat(60)).slice(0, 100);

describe("the dashboard on a phone", () => {
  let stack: GenerationStack;
  let browser: Browser;
  let page: Page;
  let consoleLog: ReturnType<typeof watchConsole>;
  let projectId: string;

  beforeAll(async () => {
    buildFrontend();
    await mkdir(RESULTS_DIR, { recursive: true });
    stack = await startGenerationStack();
    projectId = (await stack.api.call("POST", "/projects", { name: LONG_NAME, template: "blank" })).body.id;
    browser = await launchChromium();
    ({ page, consoleLog } = await signedInPage(browser, stack.kiln.url, stack.token, { width: 390, height: 844 }));
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it("shows the projects page without sideways scrolling, its top bar reachable", async () => {
    await page.getByTestId("project-card").waitFor();
    expect(await horizontalOverflow(page)).toBe(0);
    for (const control of ["nav-tokens", "sign-out"]) expect(await reachable(page, control), control).toBe(true);
    await page.screenshot({ path: join(RESULTS_DIR, "mobile-projects.png") });
  });

  it("fits a project's top bar: the name has room, Download ZIP and Sign out are both reachable", async () => {
    await page.goto(`${stack.kiln.url}/p/${projectId}`);
    const title = page.getByTestId("project-title");
    await title.getByText(LONG_NAME).waitFor();
    const download = page.getByTestId("download-zip");
    for (const control of ["download-zip", "sign-out", "nav-tokens"]) expect(await reachable(page, control), control).toBe(true);
    expect((await title.boundingBox())!.width).toBeGreaterThan(100);
    expect(await title.evaluate((el) => el.scrollWidth > el.clientWidth), "the long name is cut, not spilled").toBe(true);
    expect(await horizontalOverflow(page)).toBe(0);

    // Empty: nothing to download, and the button says so.
    await expect.poll(() => download.isDisabled()).toBe(true);
    expect(await download.getAttribute("title")).toMatch(/no files/);
    await page.screenshot({ path: join(RESULTS_DIR, "mobile-project.png") });
  });

  it("shows the tokens page without sideways scrolling", async () => {
    await page.getByTestId("nav-tokens").click();
    await page.getByTestId("token-row").first().waitFor();
    expect(await horizontalOverflow(page)).toBe(0);
  });

  it("logged no console errors", () => {
    expect(consoleLog.errors).toEqual([]);
  });
});
