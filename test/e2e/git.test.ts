/**
 * Git in the dashboard, in a real browser against the standalone server: "Import from git" on the
 * new-project form makes a project of a repository and opens it (its History shows the import), and
 * "Push to git" on that version pushes it to another repository with a token the form then forgets, and
 * a private repository is imported with a token given in the form for that import only.
 */
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGitServer, type TestGitServer } from "../support/git-server";
import { client, type TestClient } from "../support/http";
import { startTestKiln, type TestKiln } from "../support/kiln";
import { startTestMongo, type TestMongo } from "../support/mongo";
import { buildFrontend, launchChromium, RESULTS_DIR, watchConsole } from "./browser";

describe("git import and push in a browser", () => {
  const token = `kiln-e2e-token-${randomBytes(8).toString("hex")}`;
  let mongo: TestMongo;
  let kiln: TestKiln;
  let git: TestGitServer;
  let api: TestClient;
  let browser: Browser;
  let page: Page;
  let consoleLog: ReturnType<typeof watchConsole>;
  let projectId: string;

  beforeAll(async () => {
    buildFrontend();
    await mkdir(RESULTS_DIR, { recursive: true });
    mongo = await startTestMongo();
    kiln = await startTestKiln({ MONGODB_URI: mongo.uri, KILN_MONGODB_DATABASE: mongo.databaseName });
    git = await startGitServer(token);
    const user = await kiln.createUser("gitter");
    api = client(kiln.url, user.token);
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
    page.setDefaultTimeout(20_000);
    consoleLog = watchConsole(page);
    await page.goto(kiln.url);
    await page.getByTestId("token-input").fill(user.token);
    await page.getByTestId("signin-submit").click();
    await page.getByRole("heading", { name: "What do you want to build?" }).waitFor();
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
    await git?.close();
    await kiln?.close();
    await mongo?.close();
  });

  it("imports a repository from the new-project form and opens the project", async () => {
    const url = git.createRepository("greeting", (dir) => writeFileSync(join(dir, "index.html"), "<h1>From git</h1>\n"));
    await page.getByTestId("import-git-open").click();
    await page.getByTestId("import-git-url").fill(url);
    await page.getByTestId("import-git-submit").click();
    await page.getByTestId("project-title").getByText("greeting").waitFor();
    projectId = decodeURIComponent(new URL(page.url()).pathname.split("/")[2]!);
    const file = (await api.call("GET", `/vfs/${projectId}/file?path=index.html`)).body;
    expect(Buffer.from(file.contentBase64, "base64").toString()).toBe("<h1>From git</h1>\n");
    await page.getByTestId("tab-history").click();
    await page.locator("[data-testid=version-item][data-kind=import]").getByText("Imported from git").waitFor();
  });

  it("pushes the version to a remote with a token used for that push only", async () => {
    const remote = git.emptyRepository("published");
    await page.getByTestId("version-item").first().click();
    await page.getByTestId("push-git-open").click();
    await page.getByTestId("push-git-url").fill(remote);
    await page.getByTestId("push-git-token").fill(token);
    await page.getByTestId("push-git-submit").click();
    const done = await page.getByTestId("push-git-done").textContent();
    const commit = git.git("published", "rev-parse", "refs/heads/main").trim();
    expect(done).toBe(`Pushed 1 file to main: ${commit.slice(0, 10)}`);
    expect(git.git("published", "show", "main:index.html")).toBe("<h1>From git</h1>\n");
    expect(await page.getByTestId("push-git-token").inputValue()).toBe("");
    await page.screenshot({ path: join(RESULTS_DIR, "git-push.png") });
    expect(kiln.logText()).not.toContain(token);
  });

  it("imports a private repository with a token given for that import only", async () => {
    const url = git.createRepository("private-notes", (dir) => writeFileSync(join(dir, "notes.md"), "# Only with the token\n"));
    await page.goto(kiln.url);
    await page.getByRole("heading", { name: "What do you want to build?" }).waitFor();
    await page.getByTestId("import-git-open").click();
    await page.getByTestId("import-git-url").fill(url);
    await page.getByTestId("import-git-token").fill(token);
    await page.getByTestId("import-git-submit").click();
    await page.getByTestId("project-title").getByText("private-notes").waitFor();
    const imported = decodeURIComponent(new URL(page.url()).pathname.split("/")[2]!);
    const file = (await api.call("GET", `/vfs/${imported}/file?path=notes.md`)).body;
    expect(Buffer.from(file.contentBase64, "base64").toString()).toBe("# Only with the token\n");
    expect((await api.call("GET", `/projects/${imported}`)).text).not.toContain(token);
    expect(kiln.logText()).not.toContain(token);
  });

  it("logged no console errors", () => {
    expect(consoleLog.errors).toEqual([]);
  });
});
