/**
 * The Terminal tab in a real browser against the standalone server (through a proxy whose connections
 * can all be cut): a command typed into xterm.js runs in the project's sandbox and its output shows;
 * after a network drop the tab reattaches to the same live shell (its scrollback back, its variables
 * kept). No console errors along the way.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ProjectsApi } from "../../projects/contract";
import type { WorkspaceApi } from "../../workspace/contract";
import { runningWorkspace } from "../support/kiln";
import { startGenerationStack, type GenerationStack } from "../support/stack";
import { waitFor } from "../support/wait-for";
import { buildFrontend, launchChromium, RESULTS_DIR, startDropProxy, watchConsole } from "./browser";

describe("the Terminal tab in a browser", () => {
  let stack: GenerationStack;
  let proxy: Awaited<ReturnType<typeof startDropProxy>>;
  let browser: Browser;
  let page: Page;
  let consoleLog: ReturnType<typeof watchConsole>;
  let projectId: string;
  let workspaceId: string;

  const impl = <T>(name: string) => stack.kiln.kiln.services.find((s) => s.name === name)!.impl as T;
  const screen = () => page.locator("[data-testid=terminal-host] .xterm-rows").innerText();
  const status = () => page.getByTestId("terminal-status");

  beforeAll(async () => {
    buildFrontend();
    await mkdir(RESULTS_DIR, { recursive: true });
    stack = await startGenerationStack();
    proxy = await startDropProxy(stack.kiln.url);
    projectId = (await stack.api.call("POST", "/projects", { name: "Terminal tab", template: "blank" })).body.id;
    const ws = await runningWorkspace(impl<WorkspaceApi>("workspace"), projectId);
    workspaceId = ws.id;
    await impl<ProjectsApi>("projects").recordActivity({ id: projectId, workspaceId });
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
    page.setDefaultTimeout(20_000);
    consoleLog = watchConsole(page);
    await page.goto(proxy.url);
    await page.getByTestId("token-input").fill(stack.token);
    await page.getByTestId("signin-submit").click();
    await page.getByTestId("nav-tokens").waitFor();
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
    await proxy?.close();
    await stack?.close();
  });

  it("runs what is typed in the project's sandbox, and reattaches to the same shell after a network drop", async () => {
    consoleLog.phase.current = "typing";
    await page.goto(`${proxy.url}/p/${projectId}`);
    await page.getByTestId("tab-terminal").click();
    await page.locator("[data-testid=terminal-status][data-phase=open]").waitFor();
    await waitFor("the prompt", async () => /[$#]\s*$/.test((await screen()).trim() + " "));
    await page.getByTestId("terminal-host").click();
    await page.keyboard.type("export KEPT=$((6*7)); echo typed-$((40+2)) in $(pwd)");
    await page.keyboard.press("Enter");
    await waitFor("the command's output", async () => /typed-42 in \/workspace/.test(await screen()));
    await page.screenshot({ path: join(RESULTS_DIR, "terminal.png") });

    consoleLog.phase.current = "network drop";
    proxy.dropAll();
    await page.locator("[data-testid=terminal-status][data-phase=retrying]").waitFor();
    await page.locator("[data-testid=terminal-status][data-phase=open]").waitFor({ timeout: 30_000 });
    // The scrollback came back with the reattach, and the shell is the same one.
    await waitFor("the scrollback back", async () => /typed-42 in \/workspace/.test(await screen()));
    await page.getByTestId("terminal-host").click();
    await page.keyboard.type("echo kept-$KEPT");
    await page.keyboard.press("Enter");
    await waitFor("the variable kept", async () => /kept-42/.test(await screen()));
    // One terminal all along: the drop reattached, it did not open another.
    expect((await impl<WorkspaceApi>("workspace").listTerminals({ id: workspaceId })).terminals).toHaveLength(1);
    expect(await status().textContent()).toContain("Connected");
    // The socket that the drop cut logs no error of its own; requests refused while the link was down may.
    expect(consoleLog.errors.filter((e) => e.phase === "typing")).toEqual([]);
  }, 120_000);
});
