import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDaytonaHarness, type DaytonaHarness } from "../../test/fakes/daytona/harness";
import type { SandboxInfo } from "./provider";
import { waitFor } from "./provider-suite";

/** Daytona's lifecycle as it really is (soft deletes, 409s, stale lists, auto-stop, slow restores), through the fake. */
describe("daytona provider: lifecycle that survives the real service", () => {
  let harness: DaytonaHarness;
  let sandbox: SandboxInfo;
  const requests = (method: string, suffix: string) => harness.fake.requests.filter((request) => request.method === method && request.path.endsWith(suffix));

  beforeAll(async () => {
    harness = await startDaytonaHarness();
    sandbox = await harness.provider.create({ workspaceId: "wsp_life", projectId: "prj_life" });
  });
  afterAll(() => harness.cleanup());

  it("reads a sandbox being auto-stopped (started, desiredState stopped) as stopped, and starts it once it has stopped", async () => {
    const { provider, fake } = harness;
    await provider.writeFiles(sandbox.id, [{ path: "kept.txt", content: Buffer.from("kept") }]);
    await fake.faults.beginAutoStop(sandbox.id);
    expect(fake.sandbox(sandbox.id)).toMatchObject({ state: "started", desiredState: "stopped" });
    expect(await provider.get(sandbox.id)).toMatchObject({ state: "stopped" });
    await expect(provider.readFiles(sandbox.id, ["kept.txt"])).rejects.toMatchObject({ code: "failed_precondition" });
    expect(await provider.start(sandbox.id)).toMatchObject({ state: "running" });
    expect(await provider.readFiles(sandbox.id, ["kept.txt"])).toEqual([{ path: "kept.txt", content: Buffer.from("kept") }]);
  });

  it("waits out 409 answers to a start and a stop with a growing pause", async () => {
    const { provider, fake } = harness;
    fake.faults.conflictNext(3);
    expect(await provider.stop(sandbox.id)).toMatchObject({ state: "stopped" });
    expect(requests("POST", `/${sandbox.id}/stop`).filter((request) => request.status === 409)).toHaveLength(3);
    fake.faults.conflictNext(2);
    expect(await provider.start(sandbox.id)).toMatchObject({ state: "running" });
    expect(requests("POST", `/${sandbox.id}/start`).filter((request) => request.status === 409).length).toBeGreaterThanOrEqual(2);
  });

  it("gives up on endless 409s with a clear aborted error, not a hang", async () => {
    const { provider, fake } = harness;
    fake.faults.conflictNext(1000);
    try {
      await expect(harness.another({ startTimeoutSeconds: 1 }).stop(sandbox.id)).rejects.toMatchObject({ code: expect.stringMatching(/aborted|deadline_exceeded/) });
    } finally {
      fake.faults.conflictNext(0);
    }
    expect(await provider.get(sandbox.id)).toMatchObject({ state: "running" });
  });

  it("answers restoring at once for an archived sandbox that takes long to come back, and calls it failed past its own deadline", async () => {
    const { provider, fake } = harness;
    await fake.faults.archiveBehindBack(sandbox.id);
    fake.realism.restorePolls = 1_000_000;
    try {
      const started = Date.now();
      expect(await provider.start(sandbox.id)).toMatchObject({ state: "restoring" });
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(await provider.start(sandbox.id)).toMatchObject({ state: "restoring" });
      expect(requests("POST", `/${sandbox.id}/start`).filter((request) => request.status === 200).length).toBeGreaterThanOrEqual(1);
      // A provider whose restore deadline is 600 ms, counted from Daytona's updatedAt of the restore (a restart does not reset it).
      const impatient = harness.another({ restoreTimeoutMinutes: 0.01 });
      const late = await waitFor("the restore deadline", async () => {
        const info = await impatient.get(sandbox.id);
        return info.state === "error" && info;
      });
      expect(late.error).toMatch(/restoring the archived sandbox for more than 0 min \(KILN_DAYTONA_RESTORE_TIMEOUT_MINUTES\)/);
    } finally {
      fake.realism.restorePolls = 4;
    }
    fake.sandbox(sandbox.id)!.steps[0]!.polls = 1;
    expect(await provider.get(sandbox.id)).toMatchObject({ state: "running" });
  });

  it("deletes through Daytona's 409s and soft deletion; list hides what it deleted although Daytona still shows it started", async () => {
    const { provider, fake } = harness;
    const doomed = await provider.create({ workspaceId: "wsp_soft", projectId: "prj_life" });
    fake.faults.conflictNext(2);
    await provider.delete(doomed.id);
    expect(fake.sandbox(doomed.id)?.state).toBe("destroying");
    expect(await provider.get(doomed.id)).toMatchObject({ state: "gone" });
    expect((await provider.list()).map((info) => info.id)).not.toContain(doomed.id);
    // Another Kiln process knows nothing of the delete: Daytona's list still says started.
    expect((await harness.another().list()).find((info) => info.id === doomed.id)).toMatchObject({ state: "running" });
    await expect(provider.delete(doomed.id)).rejects.toMatchObject({ code: "not_found" });
  });

  it("counts a delete that races another one (409, then destroying) as done", async () => {
    const { provider } = harness;
    const raced = await provider.create({ workspaceId: "wsp_race", projectId: "prj_life" });
    const other = harness.another();
    await Promise.all([provider.delete(raced.id), other.delete(raced.id)].map((deleting) => deleting.catch((err: { code: string }) => expect(err.code).toBe("not_found"))));
    expect(requests("DELETE", `/${raced.id}`).map((request) => request.status).sort()).toEqual([200, 409]);
    expect(await provider.get(raced.id)).toMatchObject({ state: "gone" });
  });
});
