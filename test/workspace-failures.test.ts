import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { helloAppSession } from "./fakes/anthropic/sessions/hello-app";
import type { WorkspaceApi } from "../workspace/contract";
import { readEvents, waitForGeneration } from "./support/generation";
import type { FakeDaytona } from "./fakes/daytona/server";
import { startDaytonaGenerationStack } from "./support/stack";

let daytona: FakeDaytona;
let stack: Awaited<ReturnType<typeof startDaytonaGenerationStack>>;

beforeAll(async () => {
  stack = await startDaytonaGenerationStack({ script: helloAppSession, env: { KILN_WORKSPACE_READY_TIMEOUT_MS: "2500" } });
  daytona = stack.daytona;
}, 60_000);
afterAll(async () => {
  await stack?.close();
});

async function generate(name: string) {
  const projectId = (await stack.api.call("POST", "/projects", { name })).body.id;
  const job = (await stack.api.call("POST", "/generations", { projectId, prompt: "Build a hello page" })).body;
  return { projectId, done: await waitForGeneration(stack.api, job.id, 30_000) };
}

describe("workspaces that do not become ready (Daytona, through the fake)", () => {
  it("fails the job with Daytona's own reason when the sandbox ends in error", async () => {
    daytona.faults.failNextCreate("image pull back-off: registry unreachable");
    const { done } = await generate("Broken image");
    expect(done.status).toBe("failed");
    expect(done.error).toMatch(/^workspace wsp_\w+ failed: .*image pull back-off: registry unreachable/);
    expect(done.step).toBe("done");
  });

  it("fails the job saying how long it waited when the sandbox never starts", async () => {
    daytona.faults.setStartPolls(1_000_000);
    try {
      const { done, projectId } = await generate("Never ready");
      expect(done.status).toBe("failed");
      expect(done.error).toMatch(/^workspace wsp_\w+ was not ready after waiting 2\.5 s \(still creating\)$/);
      const project = await stack.api.call("GET", `/projects/${projectId}`);
      expect(project.body.status).toBe("failed");
    } finally {
      daytona.faults.setStartPolls(1);
    }
  });

  it("waits out the restore of an archived sandbox that takes longer than the workspace wait, and says so", async () => {
    const { done: first, projectId } = await generate("Archived a while ago");
    expect(first.status).toBe("completed");
    const workspace = stack.kiln.kiln.services.find((service) => service.name === "workspace")!.impl as WorkspaceApi;
    const sandboxId = (await workspace.get({ id: first.workspaceId })).providerSandboxId!;
    await daytona.faults.archiveBehindBack(sandboxId);
    // The restore lasts until the test ends it (real ones take minutes): well past the 2.5 s wait.
    daytona.faults.setStartPolls(1_000_000);
    try {
      const job = (await stack.api.call("POST", "/generations", { projectId, prompt: "Add a footer" })).body;
      const said = await readEvents(stack.kiln.url, stack.token, job.id, { until: (event) => event.event === "workspace" && event.data.action === "restoring" });
      expect(said.at(-1)!.data).toMatchObject({ action: "restoring", workspaceId: first.workspaceId });
      await new Promise((resolve) => setTimeout(resolve, 4000));
      expect((await stack.api.call("GET", `/generations/${job.id}`)).body).toMatchObject({ status: "running", step: "waiting_for_workspace" });
      // The old wait failed the job here: "was not ready after waiting 2.5 s (still restoring)".
      daytona.sandbox(sandboxId)!.steps[0]!.polls = 1;
      const done = await waitForGeneration(stack.api, job.id, 30_000);
      expect(done).toMatchObject({ status: "completed", workspaceId: first.workspaceId });
      expect((await fetch(done.previewUrl)).status).toBe(200);
      const events = await readEvents(stack.kiln.url, stack.token, job.id);
      expect(events.filter((event) => event.event === "workspace").map((event) => event.data.action)).toEqual(["starting", "restoring"]);
    } finally {
      daytona.faults.setStartPolls(1);
    }
  }, 60_000);

  it("still builds the app once the provider behaves", async () => {
    const { done } = await generate("Fine again");
    expect(done.status).toBe("completed");
    expect((await fetch(done.previewUrl)).status).toBe(200);
  });
});
