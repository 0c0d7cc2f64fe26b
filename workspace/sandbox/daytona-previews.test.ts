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

/**
 * The share gateway's signed links are its own: revoking them (a share link was revoked) leaves the
 * owner's preview open, whichever Kiln process revokes, and a revoke Daytona fails is never handed out again.
 */
describe("daytona signed preview links of the share gateway", () => {
  let harness: DaytonaHarness;
  let sandbox: SandboxInfo;

  beforeAll(async () => {
    harness = await startDaytonaHarness();
    sandbox = await harness.provider.create({ workspaceId: "wsp_shared", projectId: "prj_shared" });
    await harness.provider.writeFiles(sandbox.id, [{ path: "app.cjs", content: Buffer.from('require("node:http").createServer((q, s) => s.end("shared")).listen(Number(process.env.PORT))') }]);
    await harness.provider.startProcess(sandbox.id, { name: "app", command: "node app.cjs", env: { PORT: String(harness.devPort) } });
  });
  afterAll(() => harness.cleanup());

  /** What a browser opening `url` gets: the app's text, or Daytona's proxy status. */
  async function opened(url: string): Promise<string | number> {
    const answer = await fetch(url);
    return answer.status === 200 ? answer.text() : answer.status;
  }
  const link = async (audience: "owner" | "share", provider = harness.provider) => {
    const { url } = await provider.previewUrl(sandbox.id, harness.devPort, audience);
    await waitFor("the app through the signed link", async () => ((await fetch(url).catch(() => undefined))?.status === 200 ? true : undefined));
    return url;
  };

  it("revokes the share gateway's link and not the owner's; the next share link is a new one that opens", async () => {
    const owner = await link("owner");
    const shared = await link("share");
    expect(shared).not.toBe(owner);
    expect(await harness.provider.previewUrl(sandbox.id, harness.devPort, "share")).toMatchObject({ url: shared });
    expect(await harness.provider.revokePreviewLinks(sandbox.id, "share")).toEqual({ revoked: 1, pending: 0 });
    expect(await opened(shared)).toBe(401);
    expect(await opened(owner)).toBe("shared");
    const next = await link("share");
    expect(next).not.toBe(shared);
    expect(await opened(next)).toBe("shared");
    expect((await harness.provider.previewUrl(sandbox.id, harness.devPort)).url).toBe(owner);
  });

  it("does not hand out again a share link another Kiln process revoked", async () => {
    const shared = await link("share");
    await harness.another().revokePreviewLinks(sandbox.id, "share");
    expect(await opened(shared)).toBe(401);
    const next = (await harness.provider.previewUrl(sandbox.id, harness.devPort, "share")).url;
    expect(next).not.toBe(shared);
    expect(await opened(next)).toBe("shared");
  });

  it("never hands out a link Daytona failed to revoke, and revokes it at the next try: at the latest the sandbox's next stop", async () => {
    const shared = await link("share");
    // The revoke fails, and so does the retry on the way to the next link.
    harness.fake.faults.failNextExpires(2);
    expect(await harness.provider.revokePreviewLinks(sandbox.id, "share")).toEqual({ revoked: 0, pending: 1 });
    expect(harness.fake.sandbox(sandbox.id)!.labels[SIGNED_LINKS_LABEL]).toMatch(/\/r(,|$)/);
    const next = (await harness.provider.previewUrl(sandbox.id, harness.devPort, "share")).url;
    expect(next).not.toBe(shared);
    // Daytona kept it valid: only Kiln's next try (or its TTL) ends it; here, the next stop, by another process.
    expect(await opened(shared)).toBe("shared");
    await harness.another().stop(sandbox.id);
    await harness.provider.start(sandbox.id);
    expect(await opened(shared)).toBe(401);
  });
});
