import { Daytona, Image } from "@daytonaio/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDaytonaHarness, type DaytonaHarness } from "../../test/fakes/daytona/harness";
import { NEEDS_REGISTRY } from "../../test/support/templates";
import { TemplateCatalog } from "../../lib/templates";
import { templateSnapshotName } from "./daytona-snapshots";
import { sandboxTemplate } from "../service";
import type { SandboxTemplate } from "./provider";
import { waitFor } from "./provider-suite";

/** A template whose "install" needs no registry: it writes one package into node_modules. */
function template(overrides: Partial<SandboxTemplate> = {}): SandboxTemplate {
  const server = 'require("node:http").createServer((q, s) => s.end(require("greet")() + " " + require("node:fs").readFileSync("page.txt"))).listen(Number(process.env.PORT))';
  return {
    name: "tiny",
    files: [
      { path: "package.json", content: Buffer.from('{"name":"tiny","private":true,"scripts":{"dev":"node server.cjs"}}\n') },
      { path: "server.cjs", content: Buffer.from(server) },
      { path: "page.txt", content: Buffer.from("from the template's files") },
    ],
    install: `mkdir -p node_modules/greet && echo 'module.exports = () => "hello from the snapshot"' > node_modules/greet/index.js`,
    dependencyVersion: "0123456789abcdef",
    ...overrides,
  };
}

const builds = (harness: DaytonaHarness) => harness.fake.requests.filter((request) => request.method === "POST" && request.path === "/api/snapshots");
const creates = (harness: DaytonaHarness) => harness.fake.requests.filter((request) => request.method === "POST" && request.path === "/api/sandbox");

/** The page the template's dev server (`npm run dev`, as the workspace starts it) answers at its preview link; the server is stopped after. */
async function preview(harness: DaytonaHarness, sandboxId: string): Promise<string> {
  const provider = harness.provider;
  const { processId } = await provider.startProcess(sandboxId, { name: "dev", command: "npm run dev", env: { PORT: String(harness.devPort) } });
  try {
    const { url } = await provider.previewUrl(sandboxId, harness.devPort);
    return await waitFor("the template's dev server", async () => {
      const answer = await fetch(url).catch(() => undefined);
      return answer?.status === 200 ? answer.text() : undefined;
    });
  } finally {
    await provider.stopProcess(sandboxId, processId);
  }
}

/** Templates on Daytona: one snapshot per template version holds the installed dependencies; each sandbox gets the files. */
describe("daytona provider: templates from snapshots", () => {
  let harness: DaytonaHarness;

  beforeAll(async () => {
    harness = await startDaytonaHarness({ provider: { templatePollMs: 100 }, fake: { realism: { snapshotPendingMs: 100 } } });
  });
  afterAll(() => harness.cleanup());

  it("creates from the template's snapshot through the real SDK: one build for concurrent and later workspaces, also after a restart", async () => {
    const { provider, fake } = harness;
    const [first, second] = await Promise.all([
      provider.create({ workspaceId: "wsp_tpl1", projectId: "prj_tpl", template: template() }),
      provider.create({ workspaceId: "wsp_tpl2", projectId: "prj_tpl", template: template() }),
    ]);
    const name = templateSnapshotName(template());
    expect(name).toMatch(/^kiln-tpl-tiny-[0-9a-f]{16}$/);
    expect(builds(harness)).toHaveLength(1);
    expect(fake.snapshot(name)).toMatchObject({ state: "active", base: "node:20-bookworm" });
    for (const sandbox of [first!, second!]) {
      expect(fake.sandbox(sandbox.id)?.snapshot).toBe(name);
      expect(fake.sandbox(sandbox.id)?.home).toMatch(/\/root$/);
    }
    // Another Kiln process (nothing in memory) finds the snapshot by its name.
    const third = await harness.another({ templatePollMs: 100 }).create({ workspaceId: "wsp_tpl3", projectId: "prj_tpl", template: template() });
    expect(builds(harness)).toHaveLength(1);
    expect(fake.sandbox(third.id)?.snapshot).toBe(name);
  });

  it("gives the workspace the template's files (one upload) and its dependencies, and its dev server's preview answers", async () => {
    const { provider, fake } = harness;
    const uploadsBefore = fake.requests.filter((request) => request.path.endsWith("/files/bulk-upload")).length;
    const sandbox = await provider.create({ workspaceId: "wsp_tpl_dev", projectId: "prj_tpl", template: template() });
    expect(fake.requests.filter((request) => request.path.endsWith("/files/bulk-upload")).length - uploadsBefore).toBe(1);
    const listed = (await provider.listFiles(sandbox.id, { recursive: true })).map((entry) => entry.path);
    expect(listed.sort()).toEqual(["package.json", "page.txt", "server.cjs"]);
    const installed = await provider.readFiles(sandbox.id, ["node_modules/greet/index.js"]);
    expect(installed[0]).toMatchObject({ content: expect.any(Buffer) });
    expect(await preview(harness, sandbox.id)).toBe("hello from the snapshot from the template's files");
  });

  it("gives a sandbox of a template given without files the dependencies and none of the template's files", async () => {
    const sandbox = await harness.provider.create({ workspaceId: "wsp_tpl_restore", projectId: "prj_tpl", template: template({ files: [] }) });
    const listed = await harness.provider.listFiles(sandbox.id, { recursive: true });
    expect(listed).toEqual([]);
    expect((await harness.provider.exec(sandbox.id, { command: "node -e 'console.log(require(\"greet\")())'", timeoutMs: 10_000, maxOutputBytes: 1024 })).stdout).toBe("hello from the snapshot\n");
  });

  it("fails a create whose template does not install with the install's own words, leaves no sandbox, and builds again next time", async () => {
    const broken = template({ name: "broken", install: "echo 'npm error 404 Not Found - GET https://registry.npmjs.org/left-pad-nope' >&2; exit 1", dependencyVersion: "fedcba9876543210" });
    const before = { builds: builds(harness).length, creates: creates(harness).length };
    const started = Date.now();
    const failure = harness.provider.create({ workspaceId: "wsp_broken", projectId: "prj_broken", template: broken });
    await expect(failure).rejects.toMatchObject({
      code: "failed_precondition",
      message: expect.stringMatching(/building the snapshot kiln-tpl-broken-[0-9a-f]{16} of template broken .*failed: The command '\/bin\/sh -c .*' returned a non-zero code: 1; its last output: [\s\S]*npm error 404 Not Found - GET https:\/\/registry\.npmjs\.org\/left-pad-nope/),
    });
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(creates(harness).length).toBe(before.creates);
    expect(harness.fake.snapshot(templateSnapshotName(broken))?.state ?? "gone").toMatch(/removing|gone/);
    await expect(harness.provider.create({ workspaceId: "wsp_broken2", projectId: "prj_broken", template: broken })).rejects.toMatchObject({ code: "failed_precondition" });
    expect(builds(harness).length - before.builds).toBe(2);
  });

  it("fails a create with the runner's reason when Daytona fails the build itself", async () => {
    harness.fake.faults.failNextSnapshotBuild("Timeout processing snapshot on initial runner");
    const other = template({ name: "runner", dependencyVersion: "00000000aaaaaaaa" });
    await expect(harness.provider.create({ workspaceId: "wsp_runner", projectId: "prj_runner", template: other })).rejects.toMatchObject({
      code: "failed_precondition",
      message: expect.stringContaining("failed: Timeout processing snapshot on initial runner"),
    });
  });

  it("activates a snapshot Daytona deactivated (unused for 14 days) instead of failing or rebuilding", async () => {
    const name = templateSnapshotName(template());
    harness.fake.faults.deactivateSnapshot(name);
    const before = builds(harness).length;
    const sandbox = await harness.another({ templatePollMs: 100 }).create({ workspaceId: "wsp_tpl_inactive", projectId: "prj_tpl", template: template() });
    expect(harness.fake.sandbox(sandbox.id)?.snapshot).toBe(name);
    expect(builds(harness).length).toBe(before);
  });

  it("shares one build between two Kiln processes: the second waits for the first's snapshot (or its 409) instead of building again", async () => {
    const shared = template({ name: "shared", dependencyVersion: "1111111122222222" });
    const before = builds(harness).length;
    const [a, b] = await Promise.all([
      harness.another({ templatePollMs: 100 }).create({ workspaceId: "wsp_shared_a", projectId: "prj_shared", template: shared }),
      harness.another({ templatePollMs: 100 }).create({ workspaceId: "wsp_shared_b", projectId: "prj_shared", template: shared }),
    ]);
    const made = builds(harness).slice(before);
    expect(made.filter((request) => request.status === 200)).toHaveLength(1);
    expect(made.filter((request) => request.status !== 200).map((request) => request.status)).toEqual(made.length > 1 ? [409] : []);
    expect(harness.fake.snapshots().filter((snapshot) => snapshot.name === templateSnapshotName(shared))).toHaveLength(1);
    expect([harness.fake.sandbox(a.id)?.snapshot, harness.fake.sandbox(b.id)?.snapshot]).toEqual([templateSnapshotName(shared), templateSnapshotName(shared)]);
  });

  it("keeps waiting for a build when one of the SDK's polls answers 502 (the SDK gives up its own wait)", async () => {
    const flaky = template({ name: "flaky", dependencyVersion: "5555555566666666" });
    const before = builds(harness).length;
    harness.fake.faults.failNextBuildingPoll(502);
    const sandbox = await harness.provider.create({ workspaceId: "wsp_flaky", projectId: "prj_flaky", template: flaky });
    expect(harness.fake.sandbox(sandbox.id)?.snapshot).toBe(templateSnapshotName(flaky));
    expect(builds(harness).length - before).toBe(1);
    expect(harness.fake.requests.some((request) => request.status === 502 && request.path.startsWith("/api/snapshots/"))).toBe(true);
  });

  it("builds again over a snapshot an earlier build left in error, instead of repeating its stale failure", async () => {
    const left = template({ name: "left", dependencyVersion: "3333333344444444" });
    const name = templateSnapshotName(left);
    const daytona = new Daytona({ apiKey: harness.fake.apiKey, apiUrl: harness.fake.apiUrl, useDeprecatedPolling: true });
    harness.fake.faults.failNextSnapshotBuild("Error pulling image node:20-bookworm: toomanyrequests");
    await expect(daytona.snapshot.create({ name, image: Image.base("node:20-bookworm") })).rejects.toThrow("toomanyrequests");
    await daytona[Symbol.asyncDispose]();
    expect(harness.fake.snapshot(name)?.state).toBe("error");
    const sandbox = await harness.provider.create({ workspaceId: "wsp_left", projectId: "prj_left", template: left });
    expect(harness.fake.snapshot(name)?.state).toBe("active");
    expect(harness.fake.sandbox(sandbox.id)?.snapshot).toBe(name);
  });

  it("boots the static template (no dependencies: no snapshot) with its files and its preview answering", async () => {
    const before = builds(harness).length;
    const sandbox = await harness.provider.create({ workspaceId: "wsp_static", projectId: "prj_static", template: sandboxTemplate(TemplateCatalog.shared().find("static")!) });
    expect(builds(harness).length).toBe(before);
    expect(await preview(harness, sandbox.id)).toContain("<html");
  });

  it("boots the vite-react template from its snapshot (a real npm ci in the build), the dev server's preview answering", { timeout: 240_000 }, async () => {
    const spec = sandboxTemplate(TemplateCatalog.shared().find("vite-react")!);
    const sandbox = await harness.provider.create({ workspaceId: "wsp_vite", projectId: "prj_vite", template: spec }).catch((err: Error) => {
      throw new Error(`the vite-react snapshot did not build (${NEEDS_REGISTRY}): ${err.message}`);
    });
    const listed = (await harness.provider.listFiles(sandbox.id, { recursive: true })).map((entry) => entry.path);
    expect(listed).toEqual(expect.arrayContaining(["package.json", "package-lock.json", "src/App.tsx", "index.html"]));
    expect((await harness.provider.exec(sandbox.id, { command: "test -x node_modules/.bin/vite && echo ok", timeoutMs: 10_000, maxOutputBytes: 1024 })).stdout).toBe("ok\n");
    // The build ran Vite once (the manifest's devCache): its dependency pre-bundle is in the snapshot.
    expect(spec.devCache?.until).toBe("node_modules/.vite/deps/_metadata.json");
    expect(await harness.provider.readFiles(sandbox.id, [spec.devCache!.until])).toEqual([{ path: spec.devCache!.until, content: expect.any(Buffer) }]);
    expect(await preview(harness, sandbox.id)).toContain('<div id="root">');
  });
});

describe("daytona provider: a template snapshot that does not build in time", () => {
  it("fails with deadline_exceeded instead of hanging, and removes the snapshot", async () => {
    const harness = await startDaytonaHarness({ provider: { templatePollMs: 100, templateBuildTimeoutMs: 1500 }, fake: { realism: { snapshotPendingMs: 60_000 } } });
    try {
      const started = Date.now();
      await expect(harness.provider.create({ workspaceId: "wsp_slow", projectId: "prj_slow", template: template() })).rejects.toMatchObject({
        code: "deadline_exceeded",
        message: expect.stringContaining("did not finish within"),
      });
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(harness.fake.snapshot(templateSnapshotName(template()))?.state).toBe("removing");
    } finally {
      await harness.cleanup();
    }
  });
});
