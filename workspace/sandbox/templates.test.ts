import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Logger } from "../../lib/log";
import { TemplateCatalog, type Template } from "../../lib/templates";
import { launchChromium } from "../../test/e2e/browser";
import { scriptedSessionIsolation, searchableTempDir } from "../../test/support/isolation";
import { NEEDS_REGISTRY, TEST_TEMPLATE_CACHE } from "../../test/support/templates";
import { createLocalProvider } from "./local";
import { sandboxTemplate } from "../service";
import type { SandboxProvider } from "./provider";
import { reservePorts } from "../../test/support/ports";
import { waitFor } from "./provider-suite";

const catalog = TemplateCatalog.load();
const base = await searchableTempDir("kiln-templates-");
const messages: Array<{ message: string; fields?: Record<string, unknown> }> = [];
const log: Logger = {
  debug: () => {},
  info: (message, fields) => void messages.push({ message, fields }),
  warn: (message, fields) => void messages.push({ message, fields }),
  error: (message, fields) => void messages.push({ message, fields }),
  child: () => log,
};
const [low, high] = await reservePorts(31);
let provider: SandboxProvider;

beforeAll(async () => {
  provider = await createLocalProvider({ root: join(base, "sandboxes"), portRange: [low, high], log, isolation: scriptedSessionIsolation("the template tests"), templateCache: TEST_TEMPLATE_CACHE });
});
afterAll(async () => {
  await provider?.close();
  await rm(base, { recursive: true, force: true });
});

const installs = (name: string) => messages.filter((m) => m.message === "installing template dependencies" && m.fields?.template === name).length;
let ports = 0;
const nextPort = () => low + 1 + ports++;

/** A workspace of `name`: created through the provider (installing its dependencies when no earlier run did), named in failures. */
async function workspace(name: string) {
  const template = catalog.find(name)!;
  try {
    return await provider.create({ workspaceId: `wsp_${name}`, projectId: "prj_templates", template: sandboxTemplate(template) });
  } catch (err) {
    throw new Error(`${name} did not provision (${NEEDS_REGISTRY}): ${(err as Error).message}`);
  }
}

async function run(id: string, command: string) {
  return provider.exec(id, { command, timeoutMs: 180_000, maxOutputBytes: 100_000 });
}

/** Starts the template's dev server and waits until its preview answers with HTML; the process and the URL. */
async function boot(id: string, template: Template) {
  const port = nextPort();
  const { processId } = await provider.startProcess(id, { name: "dev", command: template.manifest.dev, env: { PORT: String(port) } });
  const { url } = await provider.previewUrl(id, port);
  const answer = await waitFor(
    `the ${template.manifest.name} preview to answer`,
    async () => {
      const response = await fetch(url, { signal: AbortSignal.timeout(5000) }).catch(() => null);
      return response?.ok ? { status: response.status, type: response.headers.get("content-type") ?? "", body: await response.text() } : undefined;
    },
    180_000,
  ).catch(async (err) => {
    throw new Error(`${(err as Error).message}\n${(await provider.processLogs(id, processId)).output}`);
  });
  return { processId, url, answer };
}

describe.each(["static", "vite-react", "expo"])("the %s template in a local sandbox", (name) => {
  it("provisions with its files and dependencies, and its dev server's preview answers with HTML", { timeout: 900_000 }, async () => {
    const template = catalog.find(name)!;
    const sandbox = await workspace(name);
    const listed = (await provider.listFiles(sandbox.id, { recursive: true })).filter((f) => !f.isDir).map((f) => f.path);
    expect(listed.sort()).toEqual(template.files.map((f) => f.path).sort());
    if (template.manifest.install) expect((await run(sandbox.id, "test -d node_modules/.bin && ls node_modules | wc -l")).exitCode).toBe(0);
    const { answer } = await boot(sandbox.id, template);
    expect(answer.type).toContain("text/html");
    expect(answer.body.toLowerCase()).toContain("<html");
    await provider.delete(sandbox.id);
  });
});

describe("a template's installed dependencies", () => {
  const template = catalog.find("vite-react")!;
  let first: string;
  let second: string;

  beforeAll(async () => {
    first = (await workspace("vite-react")).id;
  }, 900_000);

  it("are installed once: a second workspace of the same version installs nothing", async () => {
    const before = installs("vite-react");
    second = (await workspace("vite-react")).id;
    expect(installs("vite-react")).toBe(before);
    expect((await run(second, "node -e \"require.resolve('react'); console.log('react here')\"")).output).toContain("react here");
  });

  it("let the agent add a dependency, which only its own workspace sees", { timeout: 300_000 }, async () => {
    const added = await run(first, "npm install is-number@7.0.0 --no-audit --no-fund");
    expect(added.exitCode, `${NEEDS_REGISTRY}:\n${added.output}`).toBe(0);
    expect((await run(first, "node -e \"console.log(require('is-number')(7))\"")).output.trim()).toBe("true");
    expect((await run(second, "test -e node_modules/is-number && echo present || echo absent")).output.trim()).toBe("absent");
  });

  it("are each workspace's own to change: an edit or a deletion in one is invisible to the other and to new ones", async () => {
    expect((await run(first, "echo 'module.exports = \"tampered\"' > node_modules/react/index.js && rm -rf node_modules/react-dom && cat node_modules/react/index.js")).output).toContain("tampered");
    const other = await run(second, "head -c 200 node_modules/react/index.js; test -d node_modules/react-dom && echo dom-present");
    expect(other.output).not.toContain("tampered");
    expect(other.output).toContain("dom-present");
    const third = (await workspace("vite-react")).id;
    expect((await run(third, "cat node_modules/react/index.js; test -d node_modules/react-dom && echo dom-present")).output).toMatch(/dom-present/);
    await provider.delete(third);
  });

  it("keep a workspace's own changes across a stop and a start", async () => {
    await provider.stop(first);
    await provider.start(first);
    expect((await run(first, "node -e \"console.log(require('is-number')(1))\"; cat node_modules/react/index.js")).output).toContain("tampered");
  });

  it("cost a workspace almost no disk of its own beyond its files", async () => {
    const sandboxDir = join(base, "sandboxes", second);
    const bytes = Number(execFileSync("du", ["-sb", "--exclude=project", sandboxDir], { encoding: "utf8" }).split("\t")[0]);
    if (process.getuid?.() !== 0 || (await provider.health()).detail?.includes("UNCONFINED")) {
      console.warn("no overlay unless Kiln runs as root with bubblewrap: each workspace holds a copy of its template's node_modules (run as root with bubblewrap for the shared layer)");
      expect(existsSync(join(sandboxDir, "layers"))).toBe(false);
      return;
    }
    expect(existsSync(join(sandboxDir, "layers", "node_modules", "upper"))).toBe(true);
    expect(bytes).toBeLessThan(5 * 1024 * 1024);
  });

  it("serve the dev server, and an edit of App.tsx reaches the open page by hot reload, without a reload or a restart", { timeout: 300_000 }, async () => {
    const { processId, url } = await boot(second, template);
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(url);
      await page.getByRole("heading", { level: 1 }).waitFor({ timeout: 60_000 });
      // React came from the dependency pre-bundle the installation left in the shared layer: this workspace bundled nothing of its own.
      expect((await run(second, "test -f node_modules/.vite/deps/_metadata.json && echo pre-bundled")).output).toContain("pre-bundled");
      expect((await provider.processLogs(second, processId)).output).not.toMatch(/optimiz/i);
      if (existsSync(join(base, "sandboxes", second, "layers"))) expect(existsSync(join(base, "sandboxes", second, "layers", "node_modules", "upper", ".vite", "deps"))).toBe(false);
      await page.evaluate(() => ((globalThis as unknown as { kilnMarker: string }).kilnMarker = "same page"));
      const app = (await provider.readFiles(second, ["src/App.tsx"]))[0]!;
      const source = ("content" in app ? app.content : Buffer.alloc(0)).toString("utf8");
      expect(source).toContain("Your app starts here");
      const started = Date.now();
      await provider.writeFiles(second, [{ path: "src/App.tsx", content: Buffer.from(source.replace("Your app starts here", "Edited by hot reload")) }]);
      await page.getByRole("heading", { name: "Edited by hot reload" }).waitFor({ timeout: 20_000 });
      console.log(`hot reload: ${Date.now() - started} ms from the write to the new heading in the page`);
      expect(await page.evaluate(() => (globalThis as unknown as { kilnMarker?: string }).kilnMarker)).toBe("same page");
      expect((await provider.processLogs(second, processId)).running).toBe(true);
    } finally {
      await browser.close();
    }
  });
});

describe("a template whose install fails", () => {
  it("fails the create with the install's own error, quickly, and leaves no sandbox behind", { timeout: 300_000 }, async () => {
    const dir = join(base, "broken-templates", "broken");
    await mkdir(dir, { recursive: true });
    const manifest = { name: "broken", title: "Broken", description: "d", stack: [], dev: "npm run dev", port: 3000, install: "npm ci --no-audit --no-fund", checks: {}, notes: "n", examples: ["e"] };
    await writeFile(join(dir, "kiln-template.json"), JSON.stringify(manifest));
    await writeFile(join(dir, "package.json"), JSON.stringify({ name: "broken", version: "1.0.0", dependencies: { "kiln-no-such-package-xyz": "1.0.0" } }));
    // A lockfile out of step with package.json: npm ci refuses it whether or not the registry is reachable.
    await writeFile(join(dir, "package-lock.json"), JSON.stringify({ name: "broken", version: "1.0.0", lockfileVersion: 3, requires: true, packages: { "": { name: "broken", version: "1.0.0" } } }));
    const broken = TemplateCatalog.load(join(base, "broken-templates"), "broken").find("broken")!;
    const before = (await provider.list()).length;
    const started = Date.now();
    const failure = await provider.create({ workspaceId: "wsp_broken", projectId: "prj_broken", template: sandboxTemplate(broken) }).then(
      () => undefined,
      (err: Error) => err,
    );
    expect(failure?.message).toMatch(/installing the dependencies of template broken .*failed \(exit \d+\)/);
    expect(failure?.message).toMatch(/npm (ci|error)/i);
    expect(Date.now() - started).toBeLessThan(120_000);
    expect((await provider.list()).length).toBe(before);
  });
});

describe("a template given to the provider with a hostile name or version", () => {
  it.each([
    ["../../etc", "0123456789abcdef"],
    ["vite-react/..", "0123456789abcdef"],
    ["vite-react", "../../../root"],
    ["vite-react", "0123456789ABCDEF"],
  ])("refuses %s at version %s before anything is installed or created", async (name, version) => {
    const before = (await provider.list()).length;
    const hostile = { name, files: [], install: "touch /workspace/ran", dependencyVersion: version };
    await expect(provider.create({ workspaceId: "wsp_hostile", projectId: "prj_hostile", template: hostile })).rejects.toMatchObject({ code: "invalid_argument" });
    expect((await provider.list()).length).toBe(before);
  });
});
