/**
 * A person's first minute, in Chromium against the standalone server (fake MongoDB, scripted fake
 * Claude): the projects page asks one thing, what to build; Enter sends it; the project is named from
 * the prompt; its first generation runs on its page. No serious accessibility violation on the way.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Project } from "../../projects/contract";
import { startGenerationStack, type GenerationStack } from "../support/stack";
import { waitFor } from "../support/wait-for";
import { seriousA11yViolations } from "./axe";
import { buildFrontend, launchChromium, RESULTS_DIR, watchConsole } from "./browser";
import { buildSession, FIRST_SUMMARY } from "./script";

describe("the first run in a browser", () => {
  let stack: GenerationStack;
  let browser: Browser;
  let page: Page;
  let consoleLog: ReturnType<typeof watchConsole>;

  beforeAll(async () => {
    buildFrontend();
    await mkdir(RESULTS_DIR, { recursive: true });
    stack = await startGenerationStack({ script: buildSession });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    page.setDefaultTimeout(20_000);
    consoleLog = watchConsole(page);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it("asks what to build first, with the prompt box focused and labelled, and says why it cannot send yet", async () => {
    await page.goto(stack.kiln.url);
    await page.getByTestId("token-input").fill(stack.token);
    await page.getByTestId("signin-submit").click();
    const prompt = page.getByRole("textbox", { name: "What do you want to build?" });
    await prompt.waitFor();
    expect(await prompt.evaluate((el) => el === el.ownerDocument.activeElement)).toBe(true);
    // The prompt comes before the templates and the optional name.
    const order = await page.getByTestId("create-project").evaluate((form) => [...form.querySelectorAll("[data-testid]")].map((el) => el.getAttribute("data-testid")).filter((id) => ["project-prompt", "template-picker", "project-name"].includes(id!)));
    expect(order).toEqual(["project-prompt", "template-picker", "project-name"]);
    expect(await page.getByRole("textbox", { name: /^Project name/ }).count()).toBe(1);
    expect(await page.getByTestId("create-submit").isDisabled()).toBe(true);
    expect(await page.getByTestId("create-hint").textContent()).toBe("Describe what you want to build first (or name an empty project below).");
    await page.getByTestId("template-card").first().waitFor();
    expect(await seriousA11yViolations(page)).toEqual([]);
  });

  it("sends on Enter without a name: the project is named from the prompt and starts building", async () => {
    const prompt = page.getByTestId("project-prompt");
    await prompt.fill("Build me a welcome page served by Node.");
    await prompt.press("Shift+Enter");
    await prompt.pressSequentially("It greets visitors.");
    expect(await prompt.inputValue()).toBe("Build me a welcome page served by Node.\nIt greets visitors.");
    expect(await page.getByTestId("create-submit").textContent()).toBe("Create & build");
    await prompt.press("Enter");
    await page.waitForURL(/\/p\/[^/?]+\?job=/);
    const projectId = decodeURIComponent(new URL(page.url()).pathname.split("/")[2]!);
    await page.getByTestId("project-title").getByText("Welcome page served by Node", { exact: true }).waitFor();
    const project: Project = (await stack.api.call("GET", `/projects/${projectId}`)).body;
    expect(project.name).toBe("Welcome page served by Node");
    expect(project.description).toBe("Build me a welcome page served by Node.\nIt greets visitors.");
    // Never the empty-project invitation on the way: the job is there from the start.
    expect(await page.getByTestId("welcome").count()).toBe(0);
    await page.locator("[data-testid=job-view][data-job-status=completed]").waitFor({ timeout: 60_000 });
    expect(await page.getByTestId("job-outcome").textContent()).toContain(FIRST_SUMMARY);
    await waitFor("the project's badge to say ready", async () => (await page.locator(".topbar [data-status]").first().getAttribute("data-status")) === "ready");
    await page.screenshot({ path: join(RESULTS_DIR, "first-run.png") });
    expect(await seriousA11yViolations(page)).toEqual([]);
  });

  it("logged no console errors", () => {
    expect(consoleLog.errors).toEqual([]);
    expect(stack.model.protocolErrors).toEqual([]);
  });
});
