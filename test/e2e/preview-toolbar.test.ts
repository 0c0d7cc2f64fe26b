/**
 * The preview toolbar and the Logs tab in Chromium, on a project whose generation left a running dev
 * server: device widths change the frame's width, reload loads the app again, full screen shows it, the
 * path bar opens a path of the app, "Open" links to what the frame shows in a new tab, Share opens the
 * share dialog, the frame's sandbox keeps the preview's own origin (it is not the dashboard's), and the
 * Logs tab shows a line the dev server printed.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitForGeneration } from "../support/generation";
import { startGenerationStack, type GenerationStack } from "../support/stack";
import { waitFor } from "../support/wait-for";
import { buildFrontend, launchChromium, watchConsole } from "./browser";
import { buildSession, PAGE_HEADING } from "./script";
import { signedInPage } from "./signed-in";

describe("the preview toolbar in a browser", () => {
  let stack: GenerationStack;
  let browser: Browser;
  let page: Page;
  let consoleLog: ReturnType<typeof watchConsole>;
  let previewUrl: string;
  const frame = () => page.getByTestId("preview-frame");
  const frameWidth = async () => (await frame().boundingBox())!.width;

  beforeAll(async () => {
    buildFrontend();
    stack = await startGenerationStack({ script: buildSession });
    const projectId = (await stack.api.call("POST", "/projects", { name: "Toolbar", template: "blank" })).body.id;
    const job = (await stack.api.call("POST", "/generations", { projectId, prompt: "A welcome page" })).body;
    const done = await waitForGeneration(stack.api, job.id, 120_000);
    expect(done.status).toBe("completed");
    previewUrl = (await stack.api.call("GET", `/projects/${projectId}/preview`)).body.url;
    browser = await launchChromium();
    ({ page, consoleLog } = await signedInPage(browser, stack.kiln.url, stack.token));
    await page.goto(`${stack.kiln.url}/p/${projectId}`);
    await frame().waitFor();
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it("shows the app in a frame that keeps the preview's own origin, never the dashboard's", async () => {
    const content = await (await frame().elementHandle())!.contentFrame();
    await content!.getByRole("heading", { name: PAGE_HEADING }).waitFor();
    expect(new URL(previewUrl).origin).not.toBe(new URL(stack.kiln.url).origin);
    const tokens = (await frame().getAttribute("sandbox"))!.split(" ");
    expect(tokens).toEqual(expect.arrayContaining(["allow-scripts", "allow-same-origin"]));
  });

  it("changes the frame's width with the device buttons", async () => {
    const full = await frameWidth();
    await page.getByTestId("device-mobile").click();
    expect(await frameWidth()).toBe(390);
    expect(await page.getByTestId("device-mobile").getAttribute("aria-checked")).toBe("true");
    await page.getByTestId("device-tablet").click();
    expect(await frameWidth()).toBe(768);
    await page.getByTestId("device-desktop").click();
    expect(await frameWidth()).toBe(full);
    expect(full).toBeGreaterThan(768);
  });

  it("reloads the app in the frame, and shows it full screen until the user leaves", async () => {
    const content = async () => (await (await frame().elementHandle())!.contentFrame())!;
    await (await content()).evaluate("window.kilnMarker = true");
    await page.getByTestId("preview-reload").click();
    // A new document: what the page held before the reload is gone, and the app is there again.
    await waitFor("the frame to load the app again", async () => (await (await content()).evaluate("window.kilnMarker !== true").catch(() => false)));
    await (await content()).getByRole("heading", { name: PAGE_HEADING }).waitFor();

    await page.getByTestId("preview-fullscreen").click();
    await waitFor("the preview to fill the screen", () => page.evaluate('document.fullscreenElement?.contains(document.querySelector("[data-testid=preview-frame]")) ?? false'));
    await page.evaluate("document.exitFullscreen()");
    await waitFor("the page to leave full screen", () => page.evaluate("document.fullscreenElement === null"));
  });

  it("marks the frame with a focus ring while the keyboard is in the app, and not once it left", async () => {
    const outline = () => frame().evaluate((el) => el.ownerDocument.defaultView!.getComputedStyle(el).outlineStyle);
    const share = page.getByRole("toolbar", { name: "Preview" }).getByTestId("share-open");
    await share.focus();
    expect(await outline()).toBe("none");
    await page.keyboard.press("Tab");
    expect(await page.evaluate("document.activeElement?.dataset.testid")).toBe("preview-frame");
    await waitFor("the frame's focus ring", async () => (await outline()) === "solid");
    await page.keyboard.press("Shift+Tab");
    await waitFor("the ring to go with the focus", async () => (await outline()) === "none");
  });

  it("opens a path typed in the path bar, and links the same address in a new tab", async () => {
    const path = page.getByRole("textbox", { name: "Path in the app" });
    await path.fill("/menu?day=monday");
    await path.press("Enter");
    const expected = new URL("/menu?day=monday", previewUrl).toString();
    await expect.poll(() => frame().getAttribute("src")).toBe(expected);
    const content = await (await frame().elementHandle())!.contentFrame();
    await content!.waitForURL(expected);
    await content!.getByRole("heading", { name: PAGE_HEADING }).waitFor();
    const open = page.getByTestId("open-preview");
    expect(await open.getAttribute("href")).toBe(expected);
    expect(await open.getAttribute("target")).toBe("_blank");
    expect(await open.getAttribute("rel")).toContain("noreferrer");
    // Whatever is typed, the frame stays on the preview.
    await path.fill("//evil.example/x");
    await path.press("Enter");
    await expect.poll(() => frame().getAttribute("src")).toBe(new URL("/evil.example/x", previewUrl).toString());
  });

  it("opens the share dialog from the toolbar; Esc closes it", async () => {
    const open = page.getByRole("toolbar", { name: "Preview" }).getByTestId("share-open");
    await open.click();
    await page.getByTestId("share-dialog").waitFor();
    await page.keyboard.press("Escape");
    await page.getByTestId("share-dialog").waitFor({ state: "detached" });
    await open.click();
    await page.getByTestId("share-dialog").getByRole("button", { name: "Close" }).click();
    await page.getByTestId("share-dialog").waitFor({ state: "detached" });
  });

  it("shows what the dev server printed in the Logs tab", async () => {
    await page.getByRole("tab", { name: "Logs" }).click();
    const output = page.getByTestId("logs-output");
    await output.getByText(/listening on \d+/).waitFor();
    expect(await page.getByTestId("logs-state").textContent()).toBe("Running node server.js");
  });

  it("logged no console errors", () => {
    expect(consoleLog.errors).toEqual([]);
  });
});
