/**
 * Approval mode in a real browser against the standalone server and a scripted model: the project's
 * Settings tab switches it to "Ask for commands" (saved on the server); a generation's command then
 * waits as a card inline in the thread showing the exact command, and Approve pressed from the keyboard
 * runs it. No console errors along the way.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toolUse } from "../fakes/anthropic/server";
import { resultsSent, scriptedTurns } from "../support/approvals";
import { waitForGeneration } from "../support/generation";
import { startGenerationStack, type GenerationStack } from "../support/stack";
import { buildFrontend, launchChromium, RESULTS_DIR, watchConsole } from "./browser";

const COMMAND = "echo 'from the browser' > out.txt";

describe("approval mode in a browser", () => {
  let stack: GenerationStack;
  let browser: Browser;
  let page: Page;
  let consoleLog: ReturnType<typeof watchConsole>;
  let projectId: string;

  beforeAll(async () => {
    buildFrontend();
    await mkdir(RESULTS_DIR, { recursive: true });
    stack = await startGenerationStack({ script: scriptedTurns({ "Run it for me": [[toolUse("execute_command", { command: COMMAND })]] }) });
    projectId = (await stack.api.call("POST", "/projects", { name: "Careful", template: "blank" })).body.id;
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

  it("sets the project's approval mode in its settings", async () => {
    await page.goto(`${stack.kiln.url}/p/${projectId}`);
    await page.getByTestId("tab-settings").click();
    await page.locator("[data-testid=approval-mode][data-mode=auto]").waitFor();
    await page.getByTestId("approval-mode-commands").check();
    await page.locator("[data-testid=approval-mode][data-mode=commands]").waitFor();
    expect((await stack.api.call("GET", `/projects/${projectId}`)).body.approvalMode).toBe("commands");
  });

  it("shows a command waiting for approval inline in the thread, and Approve from the keyboard runs it", async () => {
    await page.getByTestId("prompt-input").fill("Run it for me");
    await page.getByTestId("prompt-submit").click();
    const card = page.getByTestId("approval-card");
    await card.waitFor();
    const job = (await stack.api.call("GET", `/generations?projectId=${projectId}`)).body.generations[0];
    expect(job).toMatchObject({ status: "running", step: "waiting_for_approval" });
    expect(await card.getByTestId("approval-command").textContent()).toBe(COMMAND);
    expect(await card.textContent()).toContain("exactly this text only");
    await page.screenshot({ path: join(RESULTS_DIR, "approval-card.png") });
    await card.getByTestId("approval-approve").focus();
    await page.keyboard.press("Enter");
    await card.waitFor({ state: "detached" });
    await waitForGeneration(stack.api, job.id);
    expect(resultsSent(stack.model.requests, "Run it for me")).toEqual([["exit code 0\n", false]]);
    const [approval] = (await stack.api.call("GET", `/generations/${job.id}/approvals?pending=false`)).body.approvals;
    expect(approval).toMatchObject({ status: "approved", alwaysAllow: false });
    expect(consoleLog.errors).toEqual([]);
  });
});
