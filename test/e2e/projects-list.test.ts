/**
 * The projects list in Chromium: search by name and description, sort, rename in place (Esc cancels),
 * fork the latest version, delete after a dialog (Esc closes it) with the option to purge the files;
 * a 100-character name stays inside its card; no serious accessibility violation, no console error.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { helloAppSession } from "../fakes/anthropic/sessions/hello-app";
import { waitForGeneration } from "../support/generation";
import { startGenerationStack, type GenerationStack } from "../support/stack";
import { seriousA11yViolations } from "./axe";
import { buildFrontend, launchChromium, watchConsole } from "./browser";
import { horizontalOverflow, signedInPage } from "./signed-in";

const LONG_NAME = "Supercalifragilisticexpialidocious".repeat(3).slice(0, 100);

describe("the projects list in a browser", () => {
  let stack: GenerationStack;
  let browser: Browser;
  let page: Page;
  let consoleLog: ReturnType<typeof watchConsole>;
  const ids: Record<string, string> = {};
  const card = (name: string) => page.locator("[data-testid=project-card]", { has: page.getByTestId("card-name").getByText(name, { exact: true }) });
  const cardNames = () => page.getByTestId("card-name").allTextContents();

  beforeAll(async () => {
    buildFrontend();
    stack = await startGenerationStack({ script: helloAppSession });
    for (const [name, description] of [["Bakery site", "Opening hours and a cake menu"], ["Alpha notes", "A notebook"], [LONG_NAME, ""]]) {
      ids[name] = (await stack.api.call("POST", "/projects", { name, description, template: "blank" })).body.id;
    }
    const job = (await stack.api.call("POST", "/generations", { projectId: ids["Bakery site"], prompt: "Build a hello page" })).body;
    const done = await waitForGeneration(stack.api, job.id, 120_000);
    expect(done.status, `the generation ended ${done.status}: ${done.error}`).toBe("completed");
    browser = await launchChromium();
    ({ page, consoleLog } = await signedInPage(browser, stack.kiln.url, stack.token));
    await card(LONG_NAME).waitFor();
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it("searches names and descriptions, and says when nothing matches", async () => {
    const search = page.getByRole("searchbox", { name: "Search projects" });
    await search.fill("bak");
    await page.waitForFunction('document.querySelectorAll("[data-testid=project-card]").length === 1');
    expect(await cardNames()).toEqual(["Bakery site"]);
    await search.fill("cake menu");
    expect(await cardNames()).toEqual(["Bakery site"]);
    await search.fill("no such thing");
    await page.getByTestId("no-match").waitFor();
    await page.getByRole("button", { name: "Clear the search" }).click();
    await page.waitForFunction('document.querySelectorAll("[data-testid=project-card]").length === 3');
  });

  it("sorts by name and by age", async () => {
    const sort = page.getByTestId("project-sort");
    await sort.selectOption("name");
    expect(await cardNames()).toEqual(["Alpha notes", "Bakery site", LONG_NAME]);
    await sort.selectOption("oldest");
    expect(await cardNames()).toEqual(["Bakery site", "Alpha notes", LONG_NAME]);
    await sort.selectOption("created");
    expect(await cardNames()).toEqual([LONG_NAME, "Alpha notes", "Bakery site"]);
  });

  it("renames in place; Esc cancels", async () => {
    await card("Alpha notes").getByTestId("card-rename").click();
    await page.getByTestId("rename-input").fill("Something else");
    await page.keyboard.press("Escape");
    await card("Alpha notes").waitFor();
    expect((await stack.api.call("GET", `/projects/${ids["Alpha notes"]}`)).body.name).toBe("Alpha notes");

    await card("Alpha notes").getByTestId("card-rename").click();
    await page.getByTestId("rename-input").fill("Alpha journal");
    await page.keyboard.press("Enter");
    await card("Alpha journal").waitFor();
    expect((await stack.api.call("GET", `/projects/${ids["Alpha notes"]}`)).body.name).toBe("Alpha journal");
  });

  it("forks a project's latest version and opens the fork", async () => {
    await card("Bakery site").getByTestId("card-fork").click();
    await page.getByTestId("project-title").getByText("Bakery site (fork)").waitFor();
    const forkId = decodeURIComponent(new URL(page.url()).pathname.split("/")[2]!);
    expect(forkId).not.toBe(ids["Bakery site"]);
    expect((await stack.api.call("GET", `/vfs/${forkId}/file?path=index.html`)).status).toBe(200);
    ids.fork = forkId;
    await page.goBack();
    await card("Bakery site (fork)").waitFor();
  });

  it("deletes after a confirmation, purging the files when asked", async () => {
    await card("Bakery site (fork)").getByTestId("card-delete").click();
    const dialog = page.getByTestId("delete-dialog");
    await dialog.waitFor();
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });
    expect((await stack.api.call("GET", `/projects/${ids.fork}`)).status).toBe(200);

    await card("Bakery site (fork)").getByTestId("card-delete").click();
    await page.getByTestId("delete-purge").check();
    expect(await page.getByTestId("delete-confirm").textContent()).toBe("Delete with its files");
    await page.getByTestId("delete-confirm").click();
    await card("Bakery site (fork)").waitFor({ state: "detached" });
    expect((await stack.api.call("GET", `/projects/${ids.fork}`)).status).toBe(404);
    // Purged: the vfs no longer has its files (the original keeps its own).
    expect((await stack.api.call("GET", `/vfs/${ids.fork}/file?path=index.html`)).status).toBe(404);
    expect((await stack.api.call("GET", `/vfs/${ids["Bakery site"]}/file?path=index.html`)).status).toBe(200);
  });

  it("keeps a 100-character name inside its card, at desktop and phone widths", async () => {
    for (const width of [1440, 390]) {
      await page.setViewportSize({ width, height: 900 });
      const name = card(LONG_NAME).getByTestId("card-name");
      const [cardBox, fits] = await Promise.all([card(LONG_NAME).boundingBox(), name.evaluate((el) => el.scrollWidth > el.clientWidth)]);
      expect(cardBox!.x + cardBox!.width, `width ${width}`).toBeLessThanOrEqual(width);
      expect(fits, "the long name is cut with an ellipsis").toBe(true);
      expect(await name.getAttribute("title")).toBe(LONG_NAME);
      expect(await horizontalOverflow(page), `width ${width}`).toBe(0);
    }
    await page.setViewportSize({ width: 1440, height: 900 });
  });

  it("has no serious accessibility violation", async () => {
    expect(await seriousA11yViolations(page, [])).toEqual([]);
  });

  it("logged no console errors", () => {
    expect(consoleLog.errors.filter((e) => !/HTTP 404 GET .*\/thumbnail/.test(e.text))).toEqual([]);
  });
});
