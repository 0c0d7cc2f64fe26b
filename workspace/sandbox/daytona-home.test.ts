import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDaytonaHarness, type DaytonaHarness } from "../../test/fakes/daytona/harness";
import { waitFor } from "./provider-suite";

/** The provider asks each sandbox for its home and derives every path from it; images without what its scripts need are refused clearly. */
describe("daytona provider: the image's user and tools", () => {
  let harness: DaytonaHarness;

  beforeAll(async () => {
    harness = await startDaytonaHarness();
  });
  afterAll(() => harness.cleanup());

  it("keeps files and the dev server in one directory on a root-user image (node:*), where home is /root", async () => {
    const provider = harness.another({ snapshot: "node:22-bookworm" });
    const sandbox = await provider.create({ workspaceId: "wsp_root", projectId: "prj_root" });
    const home = harness.fake.sandbox(sandbox.id)!.home;
    expect(home).toMatch(/\/root$/);
    const server = 'require("node:fs").writeFileSync("from-dev.txt", process.cwd()); require("node:http").createServer((q, s) => s.end(require("node:fs").readFileSync("page.txt"))).listen(Number(process.env.PORT))';
    await provider.writeFiles(sandbox.id, [
      { path: "server.cjs", content: Buffer.from(server) },
      { path: "page.txt", content: Buffer.from("written by the agent") },
    ]);
    const uploads = harness.fake.requests.filter((request) => request.path.endsWith("/files/bulk-upload")).at(-1);
    expect((uploads?.body as { files: Array<{ path: string }> }).files.map((file) => file.path)).toEqual([`${home}/project/server.cjs`, `${home}/project/page.txt`]);
    const { processId } = await provider.startProcess(sandbox.id, { name: "dev", command: "node server.cjs", env: { PORT: String(harness.devPort) } });
    const { url } = await provider.previewUrl(sandbox.id, harness.devPort);
    const page = await waitFor("the dev server", async () => {
      const answer = await fetch(url).catch(() => undefined);
      return answer?.status === 200 ? answer.text() : undefined;
    });
    expect(page).toBe("written by the agent");
    expect(await provider.readFiles(sandbox.id, ["from-dev.txt"])).toEqual([{ path: "from-dev.txt", content: Buffer.from(`${home}/project`) }]);
    expect((await provider.exec(sandbox.id, { command: "pwd", timeoutMs: 5000, maxOutputBytes: 1024 })).stdout).toBe(`${home}/project\n`);
    await provider.stopProcess(sandbox.id, processId);
    await provider.delete(sandbox.id);
  });

  it("asks the home once per sandbox, not per call", async () => {
    const { provider, fake } = harness;
    const sandbox = await provider.create({ workspaceId: "wsp_once", projectId: "prj_root" });
    for (let i = 0; i < 3; i++) await provider.writeFiles(sandbox.id, [{ path: `f${i}.txt`, content: Buffer.from("x") }]);
    expect(fake.requests.filter((request) => request.path === `/toolbox/${sandbox.id}/user-home-dir`)).toHaveLength(1);
  });

  it("refuses an image without GNU tools (Alpine's busybox) with a clear error naming what is missing, and leaves no sandbox behind", async () => {
    const provider = harness.another({ snapshot: "node:22-alpine" });
    const refusal = provider.create({ workspaceId: "wsp_alpine", projectId: "prj_root" });
    await expect(refusal).rejects.toMatchObject({
      code: "failed_precondition",
      message: expect.stringMatching(/lacks what Kiln's scripts need: GNU find \(-printf\), GNU sha256sum \(-z\), GNU mv \(-T\), util-linux setsid \(-w\), GNU date \(\+%N\); use a Debian or Ubuntu based image/),
    });
    const left = [...harness.fake.requests].reverse().find((request) => request.method === "DELETE");
    const id = left!.path.split("/").at(-1)!;
    expect(harness.fake.sandbox(id)?.snapshot).toBe("node:22-alpine");
    expect(await provider.get(id)).toMatchObject({ state: "gone" });
  });
});
