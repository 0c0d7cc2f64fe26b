import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDaytonaHarness, type DaytonaHarness } from "../../test/fakes/daytona/harness";
import { SIGNED_LINKS_LABEL } from "./daytona-previews";
import type { SandboxInfo } from "./provider";
import { waitFor } from "./provider-suite";

/** Signed preview links are revoked when Kiln stops their sandbox, whichever Kiln process handed them out. */
describe("daytona signed preview links across restarts of Kiln", () => {
  let harness: DaytonaHarness;
  let sandbox: SandboxInfo;

  beforeAll(async () => {
    harness = await startDaytonaHarness();
    sandbox = await harness.provider.create({ workspaceId: "wsp_links", projectId: "prj_links" });
  });
  afterAll(() => harness.cleanup());

  const labels = () => harness.fake.sandbox(sandbox.id)!.labels;

  let appStarted = false;
  /** A signed link of the app's port that opens the app now. */
  async function openedLink(): Promise<string> {
    const { provider, devPort } = harness;
    if (!appStarted) {
      await provider.writeFiles(sandbox.id, [{ path: "app.cjs", content: Buffer.from('require("node:http").createServer((q, s) => s.end("linked")).listen(Number(process.env.PORT))') }]);
      await provider.startProcess(sandbox.id, { name: "app", command: "node app.cjs", env: { PORT: String(devPort) } });
      appStarted = true;
    }
    const { url } = await provider.previewUrl(sandbox.id, devPort);
    expect(await waitFor("the app through the signed link", async () => ((await fetch(url).catch(() => undefined))?.status === 200 ? true : undefined))).toBe(true);
    return url;
  }

  it("records each signed link on its sandbox before handing it out, out of sight of Kiln's sandbox info, and never the standard token", async () => {
    await openedLink();
    const recorded = labels()[SIGNED_LINKS_LABEL];
    expect(recorded).toMatch(new RegExp(`^${harness.devPort}/[A-Za-z0-9_-]+/\\d+$`));
    for (const token of harness.fake.standardTokens()) expect(recorded).not.toContain(token);
    expect((await harness.provider.get(sandbox.id)).labels).not.toHaveProperty(SIGNED_LINKS_LABEL);
    expect((await harness.provider.list()).find((info) => info.id === sandbox.id)?.labels).not.toHaveProperty(SIGNED_LINKS_LABEL);
  });

  it("revokes a link handed out before a restart when the restarted Kiln stops the sandbox", async () => {
    const url = await openedLink();
    // Another process: none of the first one's memory, as after a restart.
    const restarted = harness.another();
    await restarted.stop(sandbox.id);
    expect(harness.fake.requests.filter((request) => request.method === "POST" && request.path.endsWith("/expire")).length).toBeGreaterThanOrEqual(1);
    expect(labels()).not.toHaveProperty(SIGNED_LINKS_LABEL);
    await restarted.start(sandbox.id);
    // Signed links survive a sandbox's restart on Daytona: unrevoked, this one would open the preview again.
    expect(await (await fetch(url)).json()).toMatchObject({ statusCode: 401, source: "DAYTONA_PROXY" });
  });
});
