import { describe, expect, it } from "vitest";
import { memoryLogger } from "../test/support/kiln";
import type { RecordVersionRequest } from "../vfs/contract";
import type { JobContext, JobResult } from "./jobs/runner";
import type { JobRecord } from "./jobs/store";
import { leavingVersions } from "./versions";

const job = { id: "job_1", projectId: "prj_1", ownerId: "usr_1", prompt: "Make it blue" } as JobRecord;

/** Runs a job whose executor answers `result` with its signal aborted for `abortReason` (if given); returns what the vfs was asked. */
async function end(result: JobResult, abortReason?: Error, refuse = false) {
  const recorded: { req: RecordVersionRequest; userID: string }[] = [];
  const { log, lines } = memoryLogger("warn");
  const vfs = {
    recordVersion: async (req: RecordVersionRequest, auth: { userID: string }) => {
      if (refuse) throw new Error("vfs down");
      recorded.push({ req, userID: auth.userID });
      return {} as never;
    },
  };
  const controller = new AbortController();
  if (abortReason) controller.abort(abortReason);
  const execute = leavingVersions(async () => result, vfs, log);
  const returned = await execute({ job, signal: controller.signal } as JobContext);
  expect(returned).toBe(result);
  return { recorded, lines };
}

describe("every generation that ends leaves a version", () => {
  it("records completed, failed and cancelled ends with the prompt and the summary (or the error), as the job's owner", async () => {
    const completed = await end({ status: "completed", summary: "Blue now", previewUrl: "http://x" });
    expect(completed.recorded).toEqual([{ req: { projectId: "prj_1", jobId: "job_1", prompt: "Make it blue", status: "completed", summary: "Blue now" }, userID: "usr_1" }]);
    const failed = await end({ status: "failed", error: "the build broke" });
    expect(failed.recorded[0]!.req).toMatchObject({ status: "failed", summary: "the build broke" });
    const cancelled = await end({ status: "failed", error: "cancelled", summary: "half done" }, new Error("cancelled"));
    expect(cancelled.recorded[0]!.req).toMatchObject({ status: "cancelled", summary: "half done" });
  });

  it("leaves none for a job only handed to another runner, and logs a version it could not record", async () => {
    class LeaseLost extends Error {}
    expect((await end({ status: "failed", error: "stopping" }, new LeaseLost("runner stopping"))).recorded).toEqual([]);
    const refused = await end({ status: "completed", summary: "s", previewUrl: "http://x" }, undefined, true);
    expect(refused.lines.some((l) => l.msg === "the generation's version was not recorded" && l.jobId === "job_1")).toBe(true);
  });
});
