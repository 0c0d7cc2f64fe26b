/**
 * The API tokens screen in Chromium: create a token (its value shown once, and it works), see it listed
 * by name and prefix, revoke it after a dialog that Esc closes (then it is refused), with no serious
 * accessibility violation and no console error.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestKiln, type TestKiln } from "../support/kiln";
import { seriousA11yViolations } from "./axe";
import { buildFrontend, launchChromium, watchConsole } from "./browser";
import { signedInPage } from "./signed-in";

describe("the API tokens screen in a browser", () => {
  let kiln: TestKiln;
  let browser: Browser;
  let page: Page;
  let consoleLog: ReturnType<typeof watchConsole>;
  let created: string;
  const projectsWith = (token: string) => fetch(`${kiln.url}/projects`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);

  beforeAll(async () => {
    buildFrontend();
    kiln = await startTestKiln();
    const { token } = await kiln.createUser("token-owner");
    browser = await launchChromium();
    ({ page, consoleLog } = await signedInPage(browser, kiln.url, token));
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await kiln?.close();
  });

  it("is reached from the top bar and creates a token shown once, which works", async () => {
    await page.getByTestId("nav-tokens").click();
    await page.getByRole("heading", { name: "API tokens", level: 1 }).waitFor();
    expect(new URL(page.url()).pathname).toBe("/tokens");
    // The sign-in token is listed already; nothing is created without a name.
    expect(await page.getByTestId("token-create").isDisabled()).toBe(true);
    await page.getByLabel("Name").fill("CI runner");
    await page.getByTestId("token-create").click();
    created = await page.getByTestId("token-value").inputValue();
    expect(created).toMatch(/^kiln_[A-Za-z0-9_-]{43}$/);
    expect(await projectsWith(created)).toBe(200);
    const row = page.locator("[data-testid=token-row]", { hasText: "CI runner" });
    await row.waitFor();
    expect(await row.textContent()).toContain(`${created.slice(0, 12)}…`);
    expect(await row.textContent()).not.toContain(created);

    // Shown once: after Done, and after a reload, the value is nowhere on the page.
    await page.getByTestId("token-dismiss").click();
    await page.reload();
    await row.waitFor();
    expect(await page.content()).not.toContain(created);
  });

  it("revokes a token after a confirmation that Esc dismisses", async () => {
    const row = page.locator("[data-testid=token-row]", { hasText: "CI runner" });
    await row.getByTestId("token-revoke").click();
    const dialog = page.getByTestId("revoke-dialog");
    await dialog.waitFor();
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });
    expect(await projectsWith(created)).toBe(200);

    await row.getByTestId("token-revoke").click();
    await page.getByTestId("revoke-confirm").click();
    await page.locator("[data-testid=token-row][data-state=revoked]", { hasText: "CI runner" }).waitFor();
    expect(await projectsWith(created)).toBe(401);
  });

  it("has no serious accessibility violation", async () => {
    expect(await seriousA11yViolations(page, [])).toEqual([]);
  });

  it("logged no console errors", () => {
    expect(consoleLog.errors).toEqual([]);
  });
});
