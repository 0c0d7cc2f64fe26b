import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDaytonaHarness, type DaytonaHarness } from "../../test/fakes/daytona/harness";
import { openTestDatabase, type TestDatabase } from "../../test/support/database";
import { memoryLogger, runningWorkspace } from "../../test/support/kiln";
import type { ReconcileReport } from "../contract";
import { createWorkspaceService } from "../service";
import type { SandboxInfo } from "./provider";

/** Reconciliation against Daytona as it really is: a list that lags behind deletes, 409s, sandboxes being destroyed. */
describe("reconciling Daytona sandboxes", () => {
  let harness: DaytonaHarness;
  let database: TestDatabase;
  let service: ReturnType<typeof createWorkspaceService>;
  const { log, lines } = memoryLogger("info");

  beforeAll(async () => {
    harness = await startDaytonaHarness();
    database = await openTestDatabase("workspace");
    service = createWorkspaceService({ db: database.pool, provider: harness.provider, portRange: [harness.devPort, harness.devPort + 9], log });
  });
  afterAll(async () => {
    await service?.close();
    await database?.close();
    await harness?.cleanup();
  });

  it("settles every sandbox on its own: a stale list entry is skipped, a 409 that outlasts the retries is reported, the rest are done", async () => {
    const { provider, fake } = harness;
    const kept = await runningWorkspace(service, "prj_keep");
    // Orphans: labelled as Kiln's, no workspace of theirs exists.
    const orphans: SandboxInfo[] = [];
    for (const name of ["wsp_gone_a", "wsp_gone_b", "wsp_gone_c", "wsp_gone_d"]) orphans.push(await provider.create({ workspaceId: name, projectId: "prj_orphan" }));
    // Deleted by another Kiln process: Daytona's list still shows it as started.
    await harness.another().delete(orphans[0]!.id);
    expect((await provider.list()).find((info) => info.id === orphans[0]!.id)).toMatchObject({ state: "running" });
    // The next orphan's delete meets 409 on every attempt the provider makes.
    fake.faults.conflictNext(6);

    const report = await service.reconcile({});
    expect(report.failed).toEqual([{ sandboxId: orphans[1]!.id, reason: expect.stringContaining("state change") }]);
    expect(report.deletedOrphans.sort()).toEqual([orphans[2]!.id, orphans[3]!.id].sort());
    expect(report.deletedOrphans).not.toContain(kept.providerSandboxId);
    for (const orphan of orphans.slice(2)) expect(await provider.get(orphan.id)).toMatchObject({ state: "gone" });
    expect(lines.some((line) => line.msg === "reconciling a sandbox failed" && line.sandboxId === orphans[1]!.id)).toBe(true);

    // The next sweep finishes what this one could not.
    const again = await service.reconcile({});
    expect(again).toMatchObject({ deletedOrphans: [orphans[1]!.id], failed: [] });
    expect(await service.get({ id: kept.id })).toMatchObject({ status: "running" });
  });

  it("marks a workspace whose sandbox is being destroyed as deleted once the list catches up, never deleting it as an orphan", async () => {
    const { provider, fake } = harness;
    const ws = await runningWorkspace(service, "prj_doomed");
    fake.realism.destroyingPolls = 50;
    try {
      await harness.another().delete(ws.providerSandboxId!);
      // Daytona's list shows it started for a few reads, then destroying (gone for the provider): a sweep marks it then.
      const sweeps: ReconcileReport[] = [];
      for (let i = 0; i <= fake.realism.staleListReads && !sweeps.some((report) => report.markedGone.includes(ws.id)); i++) sweeps.push(await service.reconcile({}));
      expect(sweeps.at(-1)!.markedGone).toContain(ws.id);
      for (const report of sweeps) expect(report).toMatchObject({ deletedOrphans: [], failed: [] });
    } finally {
      fake.realism.destroyingPolls = 2;
    }
    expect(fake.requests.filter((request) => request.method === "DELETE" && request.path.endsWith(ws.providerSandboxId!))).toHaveLength(1);
    expect(await provider.get(ws.providerSandboxId!)).toMatchObject({ state: "gone" });
  });
});
