/**
 * The dashboard in a real browser (Chromium through playwright-core) against the standalone
 * server with the fake MongoDB and a scripted fake Claude: sign in, create a project, watch a
 * generation build the app, read its files, see the preview, send a follow-up, survive a network
 * drop, cancel a job, download the ZIP, with no console errors along the way.
 */
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { unzipSync } from "fflate";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeAnthropic, type FakeAnthropic } from "../fakes/anthropic/server";
import { startTestKiln, type TestKiln } from "../support/kiln";
import { startTestMongo, type TestMongo } from "../support/mongo";
import { buildFrontend, launchChromium, RESULTS_DIR, startDropProxy, watchConsole } from "./browser";
import type { Project, TemplateList, TemplateSummary } from "../../projects/contract";
import {
  BAKERY_HEADING,
  bakerySession,
  breakDevServerSession,
  buildSession,
  CRASH_OUTPUT,
  FIRST_SUMMARY,
  fixDevServerSession,
  followUpSession,
  gatedSession,
  PAGE_HEADING,
  slowSession,
  STATIC_STARTER_HEADING,
  UPDATED_HEADING,
} from "./script";

describe("the dashboard in a browser", () => {
  let mongo: TestMongo;
  let model: FakeAnthropic;
  let kiln: TestKiln;
  let proxy: Awaited<ReturnType<typeof startDropProxy>>;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let consoleLog: ReturnType<typeof watchConsole>;
  let token: string;
  let projectId: string;

  const job = (status?: string) => page.locator(`[data-testid=job-view]${status ? `[data-job-status=${status}]` : ""}`);
  /** GET on the API as the test's user, straight to Kiln (not through the page). */
  const getJson = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${kiln.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
    if (!response.ok) throw new Error(`GET ${path}: HTTP ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  };
  const templatePicker = () => page.getByRole("radiogroup", { name: "Start from" });
  const templateCard = (name: string) => page.locator(`[data-testid=template-card][data-template='${name}']`);
  const chipTexts = () => page.getByTestId("example-chip").allTextContents();
  const projectIdOf = (url: string) => decodeURIComponent(new URL(url).pathname.split("/")[2]!);
  let templates: TemplateList;
  const template = (name: string): TemplateSummary => templates.templates.find((t) => t.name === name)!;
  let staticProjectId: string;

  beforeAll(async () => {
    buildFrontend();
    await mkdir(RESULTS_DIR, { recursive: true });
    mongo = await startTestMongo();
    model = await startFakeAnthropic({ script: buildSession });
    kiln = await startTestKiln({
      MONGODB_URI: mongo.uri,
      KILN_MONGODB_DATABASE: mongo.databaseName,
      ANTHROPIC_BASE_URL: model.baseURL,
      ANTHROPIC_API_KEY: "sk-test-dashboard-e2e",
      KILN_WORKSPACE_POLL_MS: "100",
    });
    ({ token } = await kiln.createUser("e2e"));
    // The browser talks to Kiln through a proxy the test can cut, like a dropped Wi-Fi.
    proxy = await startDropProxy(kiln.url);
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1440, height: 900 }, acceptDownloads: true });
    page = await context.newPage();
    page.setDefaultTimeout(20_000);
    consoleLog = watchConsole(page);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await proxy?.close();
    await kiln?.close();
    await model?.close();
    await mongo?.close();
  });

  it("serves the dashboard at / and keeps unknown API paths as JSON 404s", async () => {
    const html = await fetch(`${kiln.url}/p/anything`, { headers: { accept: "text/html" } });
    expect(html.status).toBe(200);
    expect(await html.text()).toContain('<div id="root">');
    const api = await fetch(`${kiln.url}/projects/x/nope`, { headers: { accept: "text/html" } });
    expect(api.status).toBe(404);
    expect(await api.json()).toMatchObject({ code: "not_found" });
  });

  it("rejects a wrong token with a message saying what to do", async () => {
    const other = await browser.newPage();
    try {
      await other.goto(proxy.url);
      await other.getByTestId("token-input").fill("kiln_this-token-does-not-exist");
      await other.getByTestId("signin-submit").click();
      const error = other.getByTestId("signin-error");
      await error.waitFor();
      expect(await error.textContent()).toMatch(/not accepted.*npm run token -- create/s);
      await other.screenshot({ path: join(RESULTS_DIR, "sign-in-rejected.png") });
    } finally {
      await other.close();
    }
  });

  it("signs in, creates a project, and starts its first generation", async () => {
    consoleLog.phase.current = "sign in";
    await page.goto(proxy.url);
    await page.getByTestId("token-input").fill(token);
    await page.getByTestId("signin-submit").click();
    await page.getByRole("heading", { name: "What do you want to build?" }).waitFor();
    expect(await page.evaluate("localStorage.getItem('kiln.token')")).toBe(token);

    await page.getByTestId("project-name").fill("Welcome page");
    await page.getByTestId("project-prompt").fill("A welcome page served by Node");
    await page.getByTestId("create-submit").click();
    await page.waitForURL(/\/p\/[^/?]+\?job=/);
    projectId = decodeURIComponent(new URL(page.url()).pathname.split("/")[2]!);
    await job().waitFor();
    await page.getByTestId("project-title").getByText("Welcome page").waitFor();
    // On the in-memory MongoDB stand-in, the page says plainly that files are not durable.
    if (mongo.fake) expect(await page.getByTestId("health-banner").textContent()).toContain("not stored durably");
  });

  it("shows the steps and each tool call as it happens, then the completed job", async () => {
    consoleLog.phase.current = "first generation";
    await page.locator("[data-testid=tool-card][data-tool=write_to_file]").first().waitFor();
    await job("completed").waitFor({ timeout: 60_000 });

    const steps = await page.getByTestId("job-steps").locator("li").allTextContents();
    expect(steps).toEqual(expect.arrayContaining(["Preparing the sandbox", "Waiting for the sandbox", "Building your app", "Starting the preview"]));
    expect(await page.getByTestId("job-progress").getAttribute("aria-valuenow")).toBe("100");

    const cards = page.getByTestId("tool-card");
    expect(await cards.evaluateAll((els) => els.map((el) => `${el.getAttribute("data-tool")}:${el.getAttribute("data-state")}`))).toEqual([
      "write_to_file:ok",
      "write_to_file:ok",
      "execute_command:ok",
      "attempt_completion:ok",
    ]);
    expect(await cards.nth(1).locator(".tool-input").textContent()).toBe("server.js");
    expect(await page.getByTestId("agent-text").first().textContent()).toContain("I'll build a small page");
    expect(await page.getByTestId("job-outcome").textContent()).toContain(FIRST_SUMMARY);
    expect(await page.getByTestId("job-usage").textContent()).toMatch(/\d+(\.\d+k)? in · \d+(\.\d+k)? out.*≈ (\$|<\$)/);

    // The checks the completion passed, and the screenshot the last one took.
    expect(await page.getByTestId("checks-summary").textContent()).toBe("all passed");
    expect(await page.getByTestId("check").evaluateAll((els) => els.map((el) => `${el.getAttribute("data-kind")}:${el.getAttribute("data-state")}`))).toEqual(["dev_server:ok", "browser:ok"]);
    const shot = page.getByTestId("job-outcome").getByTestId("project-thumbnail");
    await shot.waitFor();
    expect(await shot.evaluate((img) => (img as unknown as { complete: boolean; naturalWidth: number }).complete && (img as unknown as { naturalWidth: number }).naturalWidth)).toBe(1280);

    // A tool card opens to its output.
    await cards.nth(2).locator(".tool-head").click();
    expect(await cards.nth(2).getByTestId("tool-output").textContent()).toMatch(/index\.html[\s\S]*server\.js/);
  });

  it("shows the generated app in the preview iframe, with open-in-new-tab", async () => {
    const frame = page.frameLocator("[data-testid=preview-frame]");
    await frame.getByRole("heading", { name: PAGE_HEADING }).waitFor();
    const project = (await (await fetch(`${kiln.url}/projects/${projectId}`, { headers: { authorization: `Bearer ${token}` } })).json()) as { previewUrl: string };
    expect(project.previewUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+/);
    expect(await page.getByTestId("preview-frame").getAttribute("src")).toBe(project.previewUrl);
    expect(await page.getByTestId("open-preview").getAttribute("href")).toBe(project.previewUrl);
    expect(await page.getByTestId("open-preview").getAttribute("target")).toBe("_blank");
  });

  it("opens a file from the tree with syntax highlighting", async () => {
    await page.getByTestId("tab-code").click();
    const tree = page.getByTestId("file-tree");
    await tree.locator("[data-path='server.js']").click();
    const viewer = page.locator("[data-testid=file-viewer][data-path='server.js']");
    await viewer.locator(".hljs-keyword").first().waitFor();
    expect(await viewer.textContent()).toContain("createServer");
    expect(await tree.getByTestId("tree-file").allTextContents()).toEqual(["index.html", "server.js"]);
    await page.screenshot({ path: join(RESULTS_DIR, "project-code.png") });
    await page.getByTestId("tab-preview").click();
  });

  it("downloads the project's files as a ZIP built in the browser", async () => {
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("download-zip").click()]);
    expect(download.suggestedFilename()).toBe("welcome-page.zip");
    const path = join(RESULTS_DIR, "welcome-page.zip");
    await download.saveAs(path);
    const entries = unzipSync(new Uint8Array(await readFile(path)));
    expect(Object.keys(entries).sort()).toEqual(["welcome-page/index.html", "welcome-page/server.js"]);
    expect(new TextDecoder().decode(entries["welcome-page/index.html"])).toContain(PAGE_HEADING);
  });

  it("sends a follow-up on the same project and reloads the preview", async () => {
    consoleLog.phase.current = "follow-up";
    model.setScript(followUpSession);
    await page.getByTestId("prompt-input").fill("Change the heading");
    await page.getByTestId("prompt-input").press("Enter");
    await page.waitForURL((url) => url.searchParams.get("job") !== null && !page.url().includes("undefined"));
    await page.locator("[data-testid=job-view] .bubble-user", { hasText: "Change the heading" }).waitFor();
    await job("completed").waitFor({ timeout: 60_000 });
    expect(await page.getByTestId("tool-card").evaluateAll((els) => els.map((el) => el.getAttribute("data-tool")))).toEqual(["read_file", "write_to_file", "attempt_completion"]);
    await page.frameLocator("[data-testid=preview-frame]").getByRole("heading", { name: UPDATED_HEADING }).waitFor();

    // The first generation stays in the thread above, as one summary line.
    expect(await page.getByTestId("thread-summary").count()).toBe(1);
    await page.screenshot({ path: join(RESULTS_DIR, "project-page.png") });
  });

  it("resumes the event stream after a network drop, then cancels the job", async () => {
    consoleLog.phase.current = "slow job";
    model.setScript(slowSession);
    const eventRequests: { url: string; lastEventId: string | undefined }[] = [];
    page.on("request", (request) => {
      if (request.url().includes("/events")) eventRequests.push({ url: request.url(), lastEventId: request.headers()["last-event-id"] });
    });
    await page.getByTestId("prompt-input").fill("Add a database");
    await page.getByTestId("prompt-input").press("Enter");
    await page.locator("[data-testid=job-view] .bubble-user", { hasText: "Add a database" }).waitFor();
    await page.locator("[data-testid=tool-card][data-tool=execute_command][data-state=running]").waitFor({ timeout: 30_000 });
    expect(await page.getByTestId("prompt-submit").isDisabled()).toBe(true);

    consoleLog.phase.current = "network drop";
    const before = eventRequests.length;
    proxy.dropAll();
    await expect.poll(() => eventRequests.length, { timeout: 15_000 }).toBeGreaterThan(before);
    const resumed = eventRequests.at(-1)!;
    expect(Number(resumed.lastEventId)).toBeGreaterThan(0);
    // Give the reconnected stream time to replay anything it missed, then check nothing doubled.
    await page.waitForTimeout(1500);
    expect(await page.getByTestId("tool-card").count()).toBe(1);
    expect(await page.getByTestId("agent-text").allTextContents()).toEqual(["Installing dependencies; this takes a while."]);

    consoleLog.phase.current = "cancel";
    await page.getByTestId("cancel-job").click();
    await job("cancelled").waitFor({ timeout: 30_000 });
    expect(await page.getByTestId("job-outcome").textContent()).toContain("Cancelled");
    await page.getByTestId("prompt-input").fill("x");
    expect(await page.getByTestId("prompt-submit").isDisabled()).toBe(false);
    // The preview of the last completed generation stays.
    await page.frameLocator("[data-testid=preview-frame]").getByRole("heading", { name: UPDATED_HEADING }).waitFor();
  });

  it("lists the project on the projects page with its status, latest job and preview link", async () => {
    consoleLog.phase.current = "projects page";
    await page.locator(".crumb", { hasText: "Projects" }).click();
    const card = page.locator(`[data-testid=project-card][data-project-id='${projectId}']`);
    await card.waitFor();
    await card.getByText("Latest job: cancelled", { exact: false }).waitFor();
    expect(await card.locator(".card-preview").getAttribute("href")).toMatch(/^http:\/\/127\.0\.0\.1:\d+/);
    await card.getByTestId("project-thumbnail").waitFor();
    await page.screenshot({ path: join(RESULTS_DIR, "projects.png") });
  });

  it("offers the templates from GET /templates as a radio group of cards, the default chosen", async () => {
    consoleLog.phase.current = "templates";
    templates = await getJson<TemplateList>("/templates");
    expect(templates.templates.map((t) => t.name).sort()).toEqual(["blank", "expo", "static", "vite-react"]);
    await templatePicker().waitFor();
    const radios = templatePicker().getByRole("radio");
    expect(await radios.evaluateAll((els) => els.map((el) => el.getAttribute("value")))).toEqual(templates.templates.map((t) => t.name));
    for (const t of templates.templates) {
      // Named by its title, described by its line; its stack as tags.
      expect(await templatePicker().getByRole("radio", { name: t.title, exact: true }).count()).toBe(1);
      expect(await templateCard(t.name).locator(".template-desc").textContent()).toBe(t.description);
      expect(await templateCard(t.name).locator(".tag").allTextContents()).toEqual(t.stack.length > 0 ? t.stack : ["Agent's choice"]);
    }
    const checked = templatePicker().getByRole("radio", { checked: true });
    expect(await checked.count()).toBe(1);
    expect(await checked.getAttribute("value")).toBe(templates.defaultTemplate);
    expect(await chipTexts()).toEqual(template(templates.defaultTemplate).examples);
    await page.screenshot({ path: join(RESULTS_DIR, "new-project.png") });

    // On a phone the cards wrap into two columns and nothing scrolls sideways.
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      const lefts = await page.getByTestId("template-card").evaluateAll((els) => els.map((el) => Math.round(el.getBoundingClientRect().left)));
      expect(new Set(lefts).size).toBe(2);
      const form = page.getByTestId("create-project");
      expect(await form.evaluate((el) => el.ownerDocument.documentElement.scrollWidth <= el.ownerDocument.documentElement.clientWidth)).toBe(true);
      await page.screenshot({ path: join(RESULTS_DIR, "new-project-phone.png"), fullPage: true });
    } finally {
      await page.setViewportSize({ width: 1440, height: 900 });
    }
  });

  it("chooses a template with the arrow keys and creates a project from it", async () => {
    const names = templates.templates.map((t) => t.name);
    const steps = names.indexOf("static") - names.indexOf(templates.defaultTemplate);
    expect(steps).not.toBe(0);
    await templatePicker().getByRole("radio", { checked: true }).focus();
    for (let i = 0; i < Math.abs(steps); i++) await page.keyboard.press(steps > 0 ? "ArrowRight" : "ArrowLeft");
    const website = templatePicker().getByRole("radio", { name: template("static").title, exact: true });
    expect(await website.isChecked()).toBe(true);
    expect(await website.evaluate((el) => el === el.ownerDocument.activeElement)).toBe(true);
    // The focused card shows it: an outline drawn around the card, not only the hidden radio.
    expect(await templateCard("static").evaluate((el) => el.ownerDocument.defaultView!.getComputedStyle(el).outlineStyle)).toBe("solid");
    expect(await templateCard(templates.defaultTemplate).evaluate((el) => el.ownerDocument.defaultView!.getComputedStyle(el).outlineStyle)).toBe("none");
    expect(await chipTexts()).toEqual(template("static").examples);

    await page.getByTestId("project-name").fill("Keyboard site");
    await page.getByTestId("project-name").press("Enter");
    await page.waitForURL(/\/p\/[^/?]+$/);
    staticProjectId = projectIdOf(page.url());
    const project = await getJson<Project>(`/projects/${staticProjectId}`);
    expect(project.template).toBe("static");
    expect(project.latestJobId).toBeNull();
    // The project's page says what it started from, and so does its card.
    await page.getByTestId("project-template").getByText(template("static").title, { exact: true }).waitFor();
    await page.locator(".crumb", { hasText: "Projects" }).click();
    await page.locator(`[data-testid=project-card][data-project-id='${staticProjectId}'] [data-testid=card-template]`).getByText(template("static").title, { exact: true }).waitFor();
  });

  it("fills the prompt with an example of the chosen template", async () => {
    await page.goto(proxy.url);
    await templatePicker().waitFor();
    await templateCard("vite-react").click();
    expect(await chipTexts()).toEqual(template("vite-react").examples);
    const example = template("vite-react").examples[1]!;
    await page.getByTestId("example-chip").getByText(example, { exact: true }).click();
    const prompt = page.getByTestId("project-prompt");
    expect(await prompt.inputValue()).toBe(example);
    expect(await prompt.evaluate((el) => el === el.ownerDocument.activeElement)).toBe(true);
    expect(await page.getByTestId("create-submit").textContent()).toBe("Create & build");
    await prompt.fill("");
  });

  it("shows the preview as soon as preview_ready arrives, live while the agent still works", async () => {
    consoleLog.phase.current = "early preview";
    const session = gatedSession(bakerySession);
    model.setScript(session.script);
    // The server also records the early preview on the project, which the page polls: hide it from the
    // page while the agent waits, so only the preview_ready event can bring the preview in.
    const projectGet = (url: URL) => /^\/projects\/[^/]+$/.test(url.pathname) && !["/projects/tokens", "/projects/health"].includes(url.pathname);
    await page.route(projectGet, async (route) => {
      const response = await route.fetch();
      await route.fulfill({ response, json: { ...((await response.json()) as Project), previewUrl: null } });
    });
    try {
      await page.goto(proxy.url);
      await templateCard("static").click();
      const example = template("static").examples[0]!;
      await page.getByTestId("example-chip").getByText(example, { exact: true }).click();
      await page.getByTestId("project-name").fill("Bakery");
      await page.getByTestId("create-submit").click();
      await page.waitForURL(/\/p\/[^/?]+\?job=/);
      const jobId = new URL(page.url()).searchParams.get("job")!;
      await session.reached;
      await page.frameLocator("[data-testid=preview-frame]").getByRole("heading", { name: STATIC_STARTER_HEADING }).waitFor();
      await page.getByTestId("preview-live").waitFor();
      // Still before the agent's first turn has ended: the job runs and has not completed.
      await job("running").waitFor();
      expect((await getJson<{ status: string }>(`/generations/${jobId}`)).status).toBe("running");
      const project = await getJson<Project>(`/projects/${projectIdOf(page.url())}`);
      expect(project.template).toBe("static");
      expect(await page.getByTestId("preview-frame").getAttribute("src")).toBe(project.previewUrl);
      await page.screenshot({ path: join(RESULTS_DIR, "early-preview.png") });
    } finally {
      await page.unroute(projectGet);
      session.open();
    }
    await job("completed").waitFor({ timeout: 60_000 });
    await page.frameLocator("[data-testid=preview-frame]").getByRole("heading", { name: BAKERY_HEADING }).waitFor();
    expect(await page.getByTestId("preview-live").count()).toBe(0);
    await page.getByTestId("project-template").getByText(template("static").title, { exact: true }).waitFor();
  });

  it("shows why the dev server does not answer, with its output, instead of a blank frame", async () => {
    consoleLog.phase.current = "dev server down";
    // On the bakery project of the test before, once its generation is done.
    await job("completed").waitFor({ timeout: 60_000 });
    model.setScript(breakDevServerSession);
    await page.getByTestId("prompt-input").fill("Use a server of your own");
    await page.getByTestId("prompt-input").press("Enter");
    await page.locator("[data-testid=job-view] .bubble-user", { hasText: "Use a server of your own" }).waitFor();
    await job("failed").waitFor({ timeout: 60_000 });

    // The next generation starts the workspace's dev server (now the crashing one) beside its first turn.
    const fix = gatedSession(fixDevServerSession);
    model.setScript(fix.script);
    await page.getByTestId("prompt-input").fill("Bring the preview back");
    await page.getByTestId("prompt-input").press("Enter");
    await page.locator("[data-testid=job-view] .bubble-user", { hasText: "Bring the preview back" }).waitFor();
    try {
      await fix.reached;
      await page.getByTestId("preview-problem").waitFor();
      expect(await page.getByTestId("preview-problem-text").textContent()).toMatch(/exited before answering/);
      expect(await page.getByTestId("preview-log").textContent()).toContain(CRASH_OUTPUT);
      await page.screenshot({ path: join(RESULTS_DIR, "preview-problem.png") });
      expect(await page.getByTestId("preview-frame").count()).toBe(0);
      await job("running").waitFor();
      expect((await getJson<{ status: string }>(`/generations/${new URL(page.url()).searchParams.get("job")}`)).status).toBe("running");
    } finally {
      fix.open();
    }
    await job("completed").waitFor({ timeout: 60_000 });
    await page.frameLocator("[data-testid=preview-frame]").getByRole("heading", { name: BAKERY_HEADING }).waitFor();
    expect(await page.getByTestId("preview-problem").count()).toBe(0);
  });

  it("logged no console errors (apart from failed requests while the network or the dev server was down)", () => {
    const unexpected = consoleLog.errors.filter((e) => !((e.phase === "network drop" || e.phase === "dev server down") && /Failed to load resource|net::ERR_/.test(e.text)));
    if (unexpected.length > 0) console.error(unexpected);
    expect(unexpected).toEqual([]);
    expect(model.protocolErrors).toEqual([]);
  });
});
