/**
 * Approval mode in a real browser against the standalone server and a scripted model: the project's
 * Settings tab switches it to "Ask for commands" (shown at once, saved on the server, still chosen after
 * a reload; a change the server refuses goes back, saying so); a generation's command then
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

  it("shows the chosen approval mode at once, saves it, and finds it chosen after a reload", async () => {
    await page.goto(`${stack.kiln.url}/p/${projectId}`);
    await page.getByTestId("tab-settings").click();
    const commands = page.getByTestId("approval-mode-commands");
    expect(await page.getByTestId("approval-mode-auto").isChecked()).toBe(true);
    // check() itself fails when the click does not change what the radio shows.
    await commands.check();
    expect(await commands.isChecked()).toBe(true);
    await page.getByTestId("approval-mode-status").getByText('Saved: "Ask for commands" applies from the agent\'s next call.').waitFor();
    expect((await stack.api.call("GET", `/projects/${projectId}`)).body.approvalMode).toBe("commands");
    await page.reload();
    await page.getByTestId("tab-settings").click();
    await page.locator("[data-testid=approval-mode][data-mode=commands]").waitFor();
    expect(await page.getByTestId("approval-mode-commands").isChecked()).toBe(true);
    expect(await page.getByTestId("approval-mode-auto").isChecked()).toBe(false);
  });

  it("puts the saved mode back with the error when the server refuses the change", async () => {
    consoleLog.phase.current = "refused";
    const refuse = `**/projects/${projectId}`;
    // The refusal is held until the test has seen the choice shown while it is saved.
    let answer = () => {};
    const held = new Promise<void>((resolve) => (answer = resolve));
    await page.route(refuse, async (route) => {
      if (route.request().method() !== "PATCH") return route.fallback();
      await held;
      await route.fulfill({ status: 503, contentType: "application/json", body: JSON.stringify({ code: "unavailable", message: "the projects database is down" }) });
    });
    try {
      const everything = page.getByTestId("approval-mode-everything");
      await everything.check();
      await page.getByTestId("approval-mode-status").getByText('Saving "Ask for everything that changes files or runs code"…').waitFor();
      expect(await everything.isChecked()).toBe(true);
      answer();
      await page.getByTestId("approval-mode-status").getByText('"Ask for everything that changes files or runs code" was not saved: the mode stays "Ask for commands".').waitFor();
      expect(await everything.isChecked()).toBe(false);
      expect(await page.getByTestId("approval-mode-commands").isChecked()).toBe(true);
      expect(await page.getByTestId("approval-mode").getByRole("alert").textContent()).toContain("the projects database is down");
    } finally {
      await page.unroute(refuse);
      consoleLog.phase.current = "thread";
    }
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
    // The only errors are the refused save's (its 503 and the console's line for it).
    expect(consoleLog.errors.filter((e) => e.phase !== "refused")).toEqual([]);
    expect(consoleLog.errors.filter((e) => e.phase === "refused").length).toBeGreaterThan(0);
  });
});
