import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { checkApp } from "./encore-rules";

const root = fileURLToPath(new URL("..", import.meta.url));

describe("Kiln's cron jobs under Encore", () => {
  it("reconcile sandboxes every 10 minutes and sweep unused blobs every hour, each on an endpoint that takes no params", () => {
    const report = checkApp(root);
    expect(report.violations.filter((v) => v.rule === "cron-job")).toEqual([]);
    const jobs = report.cronJobs.map(({ id, service, endpoint, every }) => ({ id, service, endpoint, every })).sort((a, b) => a.id.localeCompare(b.id));
    expect(jobs).toEqual([
      { id: "reconcile-sandboxes", service: "workspace", endpoint: "reconcile", every: "10m" },
      { id: "sweep-unused-blobs", service: "vfs", endpoint: "sweepAll", every: "1h" },
    ]);
    const sweepAll = report.endpoints.find((e) => e.service === "vfs" && e.name === "sweepAll");
    expect(sweepAll).toMatchObject({ expose: false, takesRequest: false, methods: ["POST"], path: "/vfs/sweep/all" });
  });
});
