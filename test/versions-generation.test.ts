import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Version } from "../vfs/contract";
import { text, toolUse } from "./fakes/anthropic/server";
import { helloAppSession } from "./fakes/anthropic/sessions/hello-app";
import { readEvents, waitForGeneration } from "./support/generation";
import { startGenerationStack, type GenerationStack } from "./support/stack";

let stack: GenerationStack;
beforeAll(async () => {
  stack = await startGenerationStack({ script: helloAppSession });
}, 60_000);
afterAll(async () => {
  await stack?.close();
});

describe("generations leave versions, over HTTP with a real sandbox", () => {
  it("a completed build and its follow-up each leave a version with prompt, summary, files changed and thumbnail; restoring the first brings its page back", async () => {
    const project = (await stack.api.call("POST", "/projects", { name: "Versioned", template: "blank" })).body;
    const first = (await stack.api.call("POST", "/generations", { projectId: project.id, prompt: "Build a hello page" })).body;
    expect((await waitForGeneration(stack.api, first.id, 120_000)).status).toBe("completed");
    const second = (await stack.api.call("POST", "/generations", { projectId: project.id, prompt: "Say it louder" })).body;
    const done = await waitForGeneration(stack.api, second.id, 120_000);
    expect(done.status).toBe("completed");

    const { versions } = (await stack.api.call("GET", `/vfs/${project.id}/versions`)).body as { versions: Version[] };
    expect(versions.map((v) => [v.kind, v.status, v.jobId, v.prompt])).toEqual([
      ["generation", "completed", second.id, "Say it louder"],
      ["generation", "completed", first.id, "Build a hello page"],
    ]);
    expect(versions[0]!.summary).toBe(done.summary);
    // The first version adds every file; the follow-up changed index.html by a few lines.
    expect(versions[1]!.changes.map((c) => `${c.change} ${c.path}`)).toEqual(expect.arrayContaining(["added index.html", "added server.js"]));
    expect(versions[0]!.changes).toEqual([expect.objectContaining({ path: "index.html", change: "modified", linesAdded: 1, linesRemoved: 1 })]);
    const thumbnail = (await stack.api.call("GET", `/vfs/${project.id}/versions/${versions[0]!.id}/thumbnail`)).body;
    expect(thumbnail.sha256).toBe(versions[0]!.thumbnailSha256);
    expect(createHash("sha256").update(Buffer.from(thumbnail.pngBase64, "base64")).digest("hex")).toBe(thumbnail.sha256);

    const preview = (await stack.api.call("GET", `/projects/${project.id}/preview`)).body.url;
    expect(await (await fetch(preview)).text()).toContain("Follow-up: Say it louder");
    const restored = await stack.api.call("POST", `/vfs/${project.id}/versions/${versions[1]!.id}/restore`, {});
    expect(restored.body).toMatchObject({ workspaceSynced: true });
    const page = await (await fetch(preview)).text();
    expect(page).toContain("Hello from Kiln");
    expect(page).not.toContain("Say it louder");
  }, 300_000);

  it("a cancelled generation leaves a cancelled version with the files it wrote", async () => {
    const projectId = (await stack.api.call("POST", "/projects", { name: "Cancelled", template: "blank" })).body.id;
    stack.model.setScript([
      { content: [text("Writing, then a long command."), toolUse("write_to_file", { path: "kept.txt", content: "written before the cancel\n" })] },
      { content: [toolUse("execute_command", { command: `sleep 30.${Date.now()}` })] },
    ]);
    try {
      const job = (await stack.api.call("POST", "/generations", { projectId, prompt: "Take your time" })).body;
      await readEvents(stack.kiln.url, stack.token, job.id, { until: (e) => e.event === "tool_started" && e.data.name === "execute_command" });
      expect((await stack.api.call("POST", `/generations/${job.id}/cancel`)).status).toBe(200);
      expect((await waitForGeneration(stack.api, job.id, 20_000)).status).toBe("cancelled");
      const { versions } = (await stack.api.call("GET", `/vfs/${projectId}/versions`)).body as { versions: Version[] };
      expect(versions.map((v) => [v.status, v.jobId, v.prompt])).toEqual([["cancelled", job.id, "Take your time"]]);
      expect(versions[0]!.changes).toEqual([{ path: "kept.txt", change: "added", linesAdded: 1, linesRemoved: 0 }]);
    } finally {
      stack.model.setScript(helloAppSession);
    }
  }, 60_000);

  it("a failed generation leaves a failed version with its error and the files it wrote", async () => {
    const projectId = (await stack.api.call("POST", "/projects", { name: "Failed", template: "blank" })).body.id;
    stack.model.setScript([
      { content: [text("Writing one file first."), toolUse("write_to_file", { path: "half.txt", content: "written before the failure\n" })] },
      { midStreamError: { type: "api_error", message: "Internal server error" }, afterText: "Now the rest" },
    ]);
    try {
      const job = (await stack.api.call("POST", "/generations", { projectId, prompt: "Break halfway" })).body;
      const done = await waitForGeneration(stack.api, job.id, 30_000);
      expect(done.status).toBe("failed");
      const { versions } = (await stack.api.call("GET", `/vfs/${projectId}/versions`)).body as { versions: Version[] };
      expect(versions.map((v) => [v.kind, v.status, v.jobId, v.prompt])).toEqual([["generation", "failed", job.id, "Break halfway"]]);
      expect(versions[0]!.summary).toContain("Internal server error");
      expect(versions[0]!.changes).toEqual([{ path: "half.txt", change: "added", linesAdded: 1, linesRemoved: 0 }]);
      const files = (await stack.api.call("GET", `/vfs/${projectId}/versions/${versions[0]!.id}`)).body.files.map((f: { path: string }) => f.path);
      expect(files).toEqual(["half.txt"]);
    } finally {
      stack.model.setScript(helloAppSession);
    }
  }, 60_000);
});
