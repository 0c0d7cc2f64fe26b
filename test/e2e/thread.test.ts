/**
 * The project page as one thread, in Chromium against the standalone server (fake MongoDB, scripted
 * fake Claude): an empty project invites its first prompt; follow-ups append to the conversation,
 * earlier generations collapse to a line that opens again; progress and elapsed time move; a failed
 * job offers Try to fix and Retry (a misconfigured server only Retry); a cancelled job looks cancelled;
 * a failed job that wrote nothing says so; one offline notice; the phone layout; arrow-key tabs; no
 * serious accessibility violation.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { text, toolUse, type FakeAnthropic, type Turn } from "../fakes/anthropic/server";
import { waitForGeneration } from "../support/generation";
import { startGenerationStack, type GenerationStack } from "../support/stack";
import { waitFor } from "../support/wait-for";
import { seriousA11yViolations } from "./axe";
import { buildFrontend, launchChromium, RESULTS_DIR, watchConsole } from "./browser";
import { buildSession, FIRST_SUMMARY, followUpSession, gatedSession, PAGE_HEADING, slowSession, UPDATED_HEADING } from "./script";

/** A job the agent gives up on: its completion fails (the dev server exits) and it stops. */
const givingUpSession: Turn[] = [
  { content: [toolUse("write_to_file", { path: "crash.js", content: "process.exit(1);\n" })] },
  { content: [toolUse("attempt_completion", { summary: "Switched servers.", dev_command: "node crash.js" })] },
  { content: [text("The server does not start; I am stopping here.")] },
];
const backToServerSession: Turn[] = [{ content: [toolUse("attempt_completion", { summary: "The page's own server again.", dev_command: "node server.js" })] }];

describe("the project page's thread in a browser", () => {
  let stack: GenerationStack;
  let model: FakeAnthropic;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let consoleLog: ReturnType<typeof watchConsole>;
  let projectId: string;

  const latest = () => page.locator("[data-testid=thread] > [data-testid=job-view]");
  const send = async (prompt: string) => {
    await page.getByTestId("prompt-input").fill(prompt);
    await page.getByTestId("prompt-input").press("Enter");
    await latest().locator(".bubble-user", { hasText: prompt }).waitFor();
  };
  const latestStatus = (status: string) => page.locator(`[data-testid=thread] > [data-testid=job-view][data-job-status=${status}]`).waitFor({ timeout: 60_000 });

  beforeAll(async () => {
    buildFrontend();
    await mkdir(RESULTS_DIR, { recursive: true });
    stack = await startGenerationStack({ script: buildSession });
    model = stack.model;
    projectId = (await stack.api.call("POST", "/projects", { name: "Welcome page", template: "blank" })).body.id;
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    await context.addInitScript({ content: `localStorage.setItem("kiln.token", ${JSON.stringify(stack.token)});` });
    page = await context.newPage();
    page.setDefaultTimeout(20_000);
    consoleLog = watchConsole(page);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it("invites the first prompt on an empty project: suggestions, the box focused, the button saying why it waits", async () => {
    await page.goto(`${stack.kiln.url}/p/${projectId}`);
    await page.getByTestId("welcome").waitFor();
    await waitFor("the prompt box to have the focus", () => page.getByTestId("prompt-input").evaluate((el) => el === el.ownerDocument.activeElement));
    expect(await page.getByText("What do you want to build?", { exact: true }).count()).toBe(1);
    expect(await page.getByTestId("prompt-submit").isDisabled()).toBe(true);
    expect(await page.getByTestId("prompt-submit").getAttribute("title")).toBe("Type what you want first.");
    // The blank template has no examples of its own; a template's would be chips here.
    expect(await page.getByRole("textbox", { name: "What do you want to build?" }).count()).toBe(1);
    expect(await seriousA11yViolations(page)).toEqual([]);
  });

  it("keeps every generation in one thread: a follow-up appends, the earlier one collapses to a line that opens again", async () => {
    consoleLog.phase.current = "first generation";
    await send("A welcome page served by Node");
    await latestStatus("completed");
    expect(await page.getByTestId("job-outcome").textContent()).toContain(FIRST_SUMMARY);
    await page.frameLocator("[data-testid=preview-frame]").getByRole("heading", { name: PAGE_HEADING }).waitFor();

    consoleLog.phase.current = "follow-up";
    const gated = gatedSession(followUpSession, 1);
    model.setScript(gated.script);
    // Ctrl+Enter sends too; Shift+Enter is a new line.
    await page.getByTestId("prompt-input").fill("Change the heading");
    await page.getByTestId("prompt-input").press("Shift+Enter");
    expect(await page.getByTestId("prompt-input").inputValue()).toBe("Change the heading\n");
    await page.getByTestId("prompt-input").press("Control+Enter");
    await latest().locator(".bubble-user", { hasText: "Change the heading" }).waitFor();
    try {
      await gated.reached;
      // The first generation is a summary line above; the old preview is marked as updating.
      const summary = page.getByTestId("thread-summary");
      expect(await summary.count()).toBe(1);
      expect(await summary.textContent()).toContain("A welcome page served by Node");
      expect(await summary.textContent()).toContain(FIRST_SUMMARY);
      await page.getByTestId("preview-updating").waitFor();
      await page.frameLocator("[data-testid=preview-frame]").getByRole("heading", { name: PAGE_HEADING }).waitFor();
      // Progress follows the work: past the 20 % of the "generating" step after one turn, under the completion's 90 %.
      const progress = Number(await latest().getByTestId("job-progress").getAttribute("aria-valuenow"));
      expect(progress).toBeGreaterThan(20);
      expect(progress).toBeLessThan(90);
      expect(await latest().getByTestId("job-work").textContent()).toMatch(/^Turn 1 · 1 tool call/);
      // Elapsed time ticks, and the step is announced.
      const first = await latest().getByTestId("job-elapsed").textContent();
      await waitFor("the elapsed time to tick", async () => (await latest().getByTestId("job-elapsed").textContent()) !== first, { timeoutMs: 5000 });
      expect(await page.getByTestId("live-status").getAttribute("aria-live")).toBe("polite");
      expect(await page.getByTestId("live-status").textContent()).toBe("Generation Building your app");
      await page.screenshot({ path: join(RESULTS_DIR, "thread-follow-up.png") });
    } finally {
      gated.open();
    }
    await latestStatus("completed");
    await page.frameLocator("[data-testid=preview-frame]").getByRole("heading", { name: UPDATED_HEADING }).waitFor();
    expect(await page.getByTestId("preview-updating").count()).toBe(0);
    expect(await page.getByTestId("live-status").textContent()).toBe("Generation completed");
    // Only the open generations render their cards: the latest's three.
    expect(await page.getByTestId("tool-card").count()).toBe(3);

    // The earlier generation opens to its whole story, replayed from its event log, and closes again.
    const entry = page.getByTestId("thread-entry").first();
    await entry.getByTestId("thread-summary").click();
    await entry.getByTestId("job-view").waitFor();
    await waitFor("the earlier job's four tool cards", async () => (await entry.getByTestId("tool-card").count()) === 4);
    expect(await entry.getByTestId("job-outcome").textContent()).toContain(FIRST_SUMMARY);
    expect(await entry.getByTestId("thread-summary").getAttribute("aria-expanded")).toBe("true");
    await entry.getByTestId("thread-summary").click();
    expect(await entry.getByTestId("job-view").count()).toBe(0);

    // A reload keeps the thread, and an existing project never shows the empty-project invitation meanwhile.
    await page.addInitScript({ content: `new MutationObserver(() => { if (document.querySelector("[data-testid=welcome]")) window.sawWelcome = true; }).observe(document, { childList: true, subtree: true });` });
    await page.route(/\/generations\?/, async (route) => {
      await new Promise((done) => setTimeout(done, 500));
      await route.continue();
    });
    try {
      await page.reload();
      await latestStatus("completed");
      expect(await page.getByTestId("thread-summary").count()).toBe(1);
      expect(await page.evaluate("window.sawWelcome === true")).toBe(false);
    } finally {
      await page.unrouteAll({ behavior: "wait" });
    }
  });

  it("offers Try to fix (a follow-up with the errors) and Retry on a failed job", async () => {
    consoleLog.phase.current = "failed job";
    model.setScript(givingUpSession);
    await send("Use a server of your own");
    await latestStatus("failed");
    const outcome = latest().getByTestId("job-outcome");
    expect(await outcome.getAttribute("data-outcome")).toBe("failed");
    expect(await outcome.textContent()).toContain("Your files are kept.");
    await outcome.getByTestId("try-fix").click();
    const prompt = page.getByTestId("prompt-input");
    await waitFor("the fix prompt in the box", async () => (await prompt.inputValue()).startsWith("The last generation stopped."));
    expect(await prompt.evaluate((el) => el === el.ownerDocument.activeElement)).toBe(true);
    await prompt.fill("");

    model.setScript(backToServerSession);
    await outcome.getByTestId("retry-job").click();
    await latestStatus("completed");
    expect(await latest().locator(".bubble-user .bubble-text").textContent()).toBe("Use a server of your own");
    expect(await page.getByTestId("thread-summary").count()).toBe(3);
  });

  it("says plainly when the server is misconfigured, with no fix offered", async () => {
    model.setScript([{ error: { status: 401, type: "authentication_error", message: "invalid x-api-key", shouldRetry: false } }]);
    await send("Add a footer");
    await latestStatus("failed");
    const outcome = latest().getByTestId("job-outcome");
    expect(await outcome.getAttribute("data-outcome")).toBe("misconfigured");
    expect(await outcome.getByTestId("job-error").textContent()).toMatch(/^The server is misconfigured: .*invalid x-api-key/);
    expect(await outcome.getByTestId("try-fix").count()).toBe(0);
    expect(await outcome.getByTestId("retry-job").count()).toBe(1);
  });

  it("shows one offline notice with the reconnect state, then a cancelled job as cancelled", async () => {
    consoleLog.phase.current = "offline";
    model.setScript(slowSession);
    await send("Add a database");
    await latest().locator("[data-testid=tool-card][data-tool=execute_command][data-state=running]").waitFor({ timeout: 30_000 });
    await context.setOffline(true);
    const notice = page.getByTestId("connection-notice");
    await notice.waitFor();
    expect(await notice.count()).toBe(1);
    expect(await notice.getAttribute("data-state")).toBe("offline");
    expect(await notice.textContent()).toContain("You are offline");
    expect(await notice.isVisible()).toBe(true);
    await context.setOffline(false);
    await notice.waitFor({ state: "detached", timeout: 20_000 });
    expect(await latest().getByTestId("tool-card").count()).toBe(1);

    consoleLog.phase.current = "cancel";
    await latest().getByTestId("cancel-job").click();
    await latestStatus("cancelled");
    expect(await latest().getByTestId("job-step").textContent()).toBe("Cancelled");
    expect(await latest().getByTestId("job-steps").locator("li").allTextContents()).not.toContain("Starting the preview");
    const bar = latest().locator("[data-testid=job-progress] .progress-bar");
    expect(await bar.getAttribute("class")).toBe("progress-bar progress-cancelled");
    expect(await bar.evaluate((el) => el.ownerDocument.defaultView!.getComputedStyle(el).backgroundColor)).not.toBe("rgb(21, 128, 61)");
    expect(await latest().getByTestId("job-outcome").textContent()).toContain("The files written so far are kept");
    // The project's badge follows the stream.
    await page.locator(".topbar [data-status=cancelled]").waitFor();
  });

  it("moves between the tabs with the arrow keys", async () => {
    await page.getByTestId("tab-preview").focus();
    await page.keyboard.press("ArrowRight");
    expect(await page.getByTestId("tab-code").getAttribute("aria-selected")).toBe("true");
    expect(await page.getByTestId("tab-code").evaluate((el) => el === el.ownerDocument.activeElement)).toBe(true);
    // End selects the last tab, whichever it is; ArrowRight from there wraps to the first.
    await page.keyboard.press("End");
    expect(await page.getByRole("tab").last().getAttribute("aria-selected")).toBe("true");
    await page.keyboard.press("ArrowRight");
    expect(await page.getByTestId("tab-preview").getAttribute("aria-selected")).toBe("true");
    expect(await page.getByTestId("tab-preview").getAttribute("tabindex")).toBe("0");
    expect(await page.getByTestId("tab-code").getAttribute("tabindex")).toBe("-1");
    expect(await seriousA11yViolations(page)).toEqual([]);
  });

  it("fits a 390 px phone: Chat / Preview switch, the prompt box pinned, nothing scrolling sideways", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      const noSideways = () => page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth");
      expect(await noSideways()).toBe(true);
      expect(await page.getByTestId("pane-chat").getAttribute("aria-pressed")).toBe("true");
      const box = await page.getByTestId("prompt-box").boundingBox();
      expect(box!.y + box!.height).toBeLessThanOrEqual(844);
      expect(await page.getByTestId("preview-frame").isVisible()).toBe(false);
      // Scrolling the thread keeps the prompt box where it is.
      await page.getByTestId("thread").hover();
      await page.mouse.wheel(0, -2000);
      expect((await page.getByTestId("prompt-box").boundingBox())!.y).toBe(box!.y);
      await page.screenshot({ path: join(RESULTS_DIR, "thread-phone.png") });

      await page.getByTestId("pane-preview").click();
      await page.frameLocator("[data-testid=preview-frame]").getByRole("heading", { name: UPDATED_HEADING }).waitFor();
      expect(await page.getByTestId("thread").isVisible()).toBe(false);
      expect(await noSideways()).toBe(true);
      await page.screenshot({ path: join(RESULTS_DIR, "thread-phone-preview.png") });
      expect(await seriousA11yViolations(page)).toEqual([]);
    } finally {
      await page.setViewportSize({ width: 1440, height: 900 });
    }
  });

  it("says no files were written when a job failed before writing any: never \"your files are kept\"", async () => {
    model.setScript([{ error: { status: 500, type: "api_error", message: "Internal server error", shouldRetry: false } }]);
    const emptyId = (await stack.api.call("POST", "/projects", { name: "Nothing yet", template: "blank" })).body.id;
    const job = (await stack.api.call("POST", "/generations", { projectId: emptyId, prompt: "Build nothing" })).body;
    await page.goto(`${stack.kiln.url}/p/${emptyId}`);
    await latestStatus("failed");
    const outcome = latest().getByTestId("job-outcome");
    expect(await outcome.getAttribute("data-outcome")).toBe("failed");
    expect((await stack.api.call("GET", `/generations/${job.id}`)).body).toMatchObject({ status: "failed", errorKind: null });
    await waitFor("the outcome to say what became of the files", async () => (await outcome.textContent())!.includes("No files were written."));
    expect(await outcome.textContent()).not.toContain("kept");
    expect(await outcome.getByTestId("try-fix").count()).toBe(1);
  });

  it("shows a long thread's newest page of generations first, and the earlier ones on demand", async () => {
    // 21 generations, one past a page of the thread (20): each fails at its first model call, quickly.
    model.setScript(Array.from({ length: 21 }, (): Turn => ({ error: { status: 500, type: "api_error", message: "Internal server error", shouldRetry: false } })));
    const longId = (await stack.api.call("POST", "/projects", { name: "Long thread", template: "blank" })).body.id;
    for (let i = 1; i <= 21; i++) {
      const job = (await stack.api.call("POST", "/generations", { projectId: longId, prompt: `Attempt ${i}` })).body;
      expect((await waitForGeneration(stack.api, job.id)).status).toBe("failed");
    }
    await page.goto(`${stack.kiln.url}/p/${longId}`);
    await latestStatus("failed");
    const prompts = () => page.locator("[data-testid=thread-entry] .thread-prompt").allTextContents();
    await waitFor("the newest page of the thread", async () => (await prompts()).length === 19);
    expect((await prompts())[0]).toBe("Attempt 2");
    expect(await latest().locator(".bubble-user .bubble-text").textContent()).toBe("Attempt 21");
    await page.getByTestId("thread-earlier").click();
    await waitFor("the earlier generation", async () => (await prompts()).length === 20);
    expect(await prompts()).toEqual(Array.from({ length: 20 }, (_, i) => `Attempt ${i + 1}`));
    expect(await page.getByTestId("thread-earlier").count()).toBe(0);
  }, 120_000);

  it("logged no console errors (apart from failed requests while offline or the app's server was down)", () => {
    const unexpected = consoleLog.errors.filter((e) => !(["offline", "failed job"].includes(e.phase) && /Failed to load resource|net::ERR_/.test(e.text)));
    if (unexpected.length > 0) console.error(unexpected);
    expect(unexpected).toEqual([]);
    expect(model.protocolErrors).toEqual([]);
  });
});
