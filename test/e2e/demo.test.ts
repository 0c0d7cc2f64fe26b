/**
 * The offline demo (`npm run demo`, scripts/demo.ts) driven from the dashboard: the scripted agent
 * builds its app (recovering from an error on the way), the preview shows it, a follow-up edits it,
 * and the page says plainly that the demo's files are not durable.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDemo, type Demo } from "../../scripts/demo";
import { HELLO_PAGE_HEADING } from "../fakes/anthropic/sessions/hello-app";
import { buildFrontend, launchChromium, RESULTS_DIR, watchConsole } from "./browser";

describe("the offline demo in a browser", () => {
  let demo: Demo;
  let browser: Browser;
  let page: Page;
  let consoleLog: ReturnType<typeof watchConsole>;
  const job = (status: string) => page.locator(`[data-testid=job-view][data-job-status=${status}]`);

  beforeAll(async () => {
    buildFrontend();
    await mkdir(RESULTS_DIR, { recursive: true });
    demo = await startDemo({ port: 0, logLevel: "warn" });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    page.setDefaultTimeout(20_000);
    consoleLog = watchConsole(page);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await demo?.close();
  });

  it("builds the scripted app from a prompt, recovering from the agent's own error, and previews it", async () => {
    await page.goto(demo.url);
    await page.getByTestId("token-input").fill(demo.token);
    await page.getByTestId("signin-submit").click();
    expect(await page.getByTestId("health-banner").textContent()).toContain("not stored durably");
    // Where this machine cannot isolate sandboxes the demo runs its own script unconfined, and the page says so in red.
    if (demo.unconfinedBecause) expect(await page.getByTestId("sandbox-banner").textContent()).toContain("Sandboxes are unconfined.");
    else expect(await page.getByTestId("sandbox-banner").count()).toBe(0);

    await page.getByTestId("project-name").fill("Hello demo");
    await page.getByTestId("project-prompt").fill("A page that says hello");
    await page.getByTestId("create-submit").click();
    await job("completed").waitFor({ timeout: 90_000 });

    const tools = await page.getByTestId("tool-card").evaluateAll((els) => els.map((el) => `${el.getAttribute("data-tool")}:${el.getAttribute("data-state")}`));
    expect(tools).toContain("execute_command:error");
    expect(tools).toContain("replace_in_file:ok");
    expect(tools.at(-1)).toBe("attempt_completion:ok");
    await page.frameLocator("[data-testid=preview-frame]").getByRole("heading", { name: HELLO_PAGE_HEADING }).waitFor();
  });

  it("edits the app with a follow-up and shows the change", async () => {
    await page.getByTestId("prompt-input").fill("Add a friendly footer");
    await page.getByTestId("prompt-input").press("Enter");
    await page.locator("[data-testid=job-view] .bubble-user", { hasText: "Add a friendly footer" }).waitFor();
    await job("completed").waitFor({ timeout: 90_000 });
    await page.frameLocator("[data-testid=preview-frame]").getByText("Follow-up: Add a friendly footer").waitFor();
    // The progress bar grows to 100% over a short transition: let it finish before the screenshot (the README's docs/dashboard.png).
    const bar = page.locator("[data-testid=job-progress] .progress-bar");
    await expect.poll(() => bar.evaluate((el) => el.getBoundingClientRect().width / el.parentElement!.getBoundingClientRect().width)).toBeGreaterThan(0.99);
    await page.screenshot({ path: join(RESULTS_DIR, "demo.png") });
    expect(consoleLog.errors).toEqual([]);
  });
});
