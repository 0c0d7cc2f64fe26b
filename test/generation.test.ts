import { rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { WorkspaceApi } from "../workspace/contract";
import { startFakeAnthropic, text, toolUse, type FakeAnthropic } from "./fakes/anthropic/server";
import { startFakeDaytona, type FakeDaytona } from "./fakes/daytona/server";
import { HELLO_PAGE_HEADING, helloAppSession } from "./fakes/anthropic/sessions/hello-app";
import { readEvents, waitForGeneration } from "./support/generation";
import { client, type TestClient } from "./support/http";
import { startTestKiln, type TestKiln } from "./support/kiln";
import { startTestMongo, type TestMongo } from "./support/mongo";
import { reservePorts } from "./support/ports";

// The Daytona SDK would otherwise open a Socket.IO connection the fake does not serve.
process.env.DAYTONA_USE_DEPRECATED_POLLING = "true";

describe.each(["local", "daytona"] as const)("a generation on %s sandboxes, end to end over HTTP", (provider) => {
  let kiln: TestKiln;
  let mongo: TestMongo;
  let model: FakeAnthropic;
  let daytona: FakeDaytona | undefined;
  let api: TestClient;
  let token: string;

  const workspaceImpl = () => kiln.kiln.services.find((s) => s.name === "workspace")!.impl as WorkspaceApi;

  /** Makes a sandbox vanish behind Kiln's back, as a provider losing it would. */
  async function loseSandbox(sandboxId: string): Promise<void> {
    if (daytona) await daytona.faults.vanish(sandboxId);
    else await rm(join(kiln.config.dataDir, "sandboxes", sandboxId), { recursive: true, force: true });
  }

  beforeAll(async () => {
    const previewPorts = await reservePorts(20);
    mongo = await startTestMongo();
    model = await startFakeAnthropic({ script: helloAppSession });
    daytona = provider === "daytona" ? await startFakeDaytona({ previewPorts }) : undefined;
    kiln = await startTestKiln({
      MONGODB_URI: mongo.uri,
      KILN_MONGODB_DATABASE: mongo.databaseName,
      ANTHROPIC_BASE_URL: model.baseURL,
      ANTHROPIC_API_KEY: "sk-test-generation",
      KILN_WORKSPACE_POLL_MS: "50",
      KILN_PREVIEW_PORTS: `${previewPorts[0]}-${previewPorts[1]}`,
      KILN_SANDBOX: provider,
      DAYTONA_API_KEY: daytona?.apiKey,
      DAYTONA_API_URL: daytona?.apiUrl,
    });
    ({ token } = await kiln.createUser("builder"));
    api = client(kiln.url, token);
  }, 60_000);
  afterAll(async () => {
    await kiln?.close();
    await daytona?.close();
    await model?.close();
    await mongo?.close();
  });

  let projectId: string;
  let jobId: string;
  let final: any;

  it("queues at once, then builds the app: files in the sandbox and the vfs, a snapshot, a preview answering 200", async () => {
    projectId = (await api.call("POST", "/projects", { name: "Hello" })).body.id;
    const started = await api.call("POST", "/generations", { projectId, prompt: "Build a hello page" });
    expect(started.status).toBe(200);
    expect(started.body).toMatchObject({ status: "queued", step: "queued", progress: 0, links: { events: `/generations/${started.body.id}/events` } });
    jobId = started.body.id;

    final = await waitForGeneration(api, jobId);
    expect(final).toMatchObject({ status: "completed", step: "done", progress: 100, error: null, summary: "A page saying Hello from Kiln, served by a small Node server." });
    expect(final.toolCalls).toBeGreaterThanOrEqual(9);
    expect(final.usage.outputTokens).toBeGreaterThan(0);
    expect(final.estimatedCostUsd).toBeGreaterThan(0);

    const page = await fetch(final.previewUrl);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(HELLO_PAGE_HEADING);

    const workspace = workspaceImpl();
    const inSandbox = await workspace.readFiles({ id: final.workspaceId, paths: ["server.js", "index.html"] });
    const fixedServer = Buffer.from(inSandbox.files[0]!.contentBase64!, "base64").toString();
    expect(fixedServer).toContain('console.log("listening on " + port));');

    const vfsFiles = await api.call("GET", `/vfs/${projectId}/files`);
    expect(vfsFiles.body.files.map((f: { path: string }) => f.path).sort()).toEqual(["index.html", "server.js"]);
    const inVfs = await api.call("GET", `/vfs/${projectId}/file?path=server.js`);
    expect(Buffer.from(inVfs.body.contentBase64, "base64").toString()).toBe(fixedServer);
    const snapshots = await api.call("GET", `/vfs/${projectId}/snapshots`);
    expect(snapshots.body.snapshots.some((s: { jobId: string | null }) => s.jobId === jobId)).toBe(true);

    const project = await api.call("GET", `/projects/${projectId}`);
    expect(project.body).toMatchObject({ status: "ready", previewUrl: final.previewUrl, latestJobId: jobId, workspaceId: final.workspaceId });
    // The link that opens the preview now: a local sandbox's does not expire, a Daytona one is signed with a TTL.
    expect((await api.call("GET", `/projects/${projectId}/preview`)).body).toEqual({ url: final.previewUrl, expiresAt: provider === "local" ? null : expect.any(String) });
    const conversation = await api.call("GET", `/projects/${projectId}/conversation`);
    expect(conversation.body.messages.map((m: { role: string; content: string }) => [m.role, m.content])).toEqual([
      ["user", "Build a hello page"],
      ["assistant", final.summary],
    ]);
    expect(model.protocolErrors).toEqual([]);
  });

  it("streams every event in order, and a client reconnecting with Last-Event-ID gets exactly the rest", async () => {
    const all = await readEvents(kiln.url, token, jobId);
    expect(all.map((e) => e.id)).toEqual(all.map((_, i) => i + 1));
    expect(all[0]!.event).toBe("queued");
    expect(all.at(-1)).toMatchObject({ event: "completed", data: { previewUrl: final.previewUrl } });
    const steps = all.filter((e) => e.event === "step").map((e) => e.data.step);
    expect(steps).toEqual(["preparing_workspace", "waiting_for_workspace", "generating", "completing"]);
    const progress = all.filter((e) => e.event === "step").map((e) => e.data.progress as number);
    expect([...progress].sort((a, b) => a - b)).toEqual(progress);
    const tools = all.filter((e) => e.event === "tool_finished").map((e) => [e.data.name, e.data.ok]);
    expect(tools).toContainEqual(["execute_command", false]);
    expect(tools).toContainEqual(["replace_in_file", true]);
    expect(tools.at(-1)).toEqual(["attempt_completion", true]);
    expect(all.some((e) => e.event === "text")).toBe(true);

    const rest = await readEvents(kiln.url, token, jobId, { lastEventId: 5 });
    expect(rest.map((e) => e.id)).toEqual(all.slice(5).map((e) => e.id));
  });

  it.each([
    ["after", "?after=abc", {}],
    ["after", "?after=-1", {}],
    ["after", "?after=1.5", {}],
    ["after", "?after=99999999999", {}],
    ["Last-Event-ID", "", { "last-event-id": "abc" }],
    ["Last-Event-ID", "", { "last-event-id": "-3" }],
    ["Last-Event-ID", "?after=2", { "last-event-id": "2147483648" }],
  ])("answers a resume point that is no event id (%s %s %j) with 400 before the stream starts", async (field, query, extra) => {
    const response = await fetch(`${kiln.url}/generations/${jobId}/events${query}`, { headers: { authorization: `Bearer ${token}`, ...extra } });
    expect(response.status).toBe(400);
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(await response.json()).toMatchObject({ code: "invalid_argument", details: { field } });
  });

  it("treats an empty Last-Event-ID as none, and resumes from ?after= without one", async () => {
    const all = await readEvents(kiln.url, token, jobId);
    const headers = { authorization: `Bearer ${token}`, "last-event-id": "" };
    const replay = await (await fetch(`${kiln.url}/generations/${jobId}/events`, { headers })).text();
    expect(replay.match(/^id: /gm)).toHaveLength(all.length);
    const resumed = await (await fetch(`${kiln.url}/generations/${jobId}/events?after=5`, { headers })).text();
    expect(resumed.match(/^id: \d+/gm)).toEqual(all.slice(5).map((e) => `id: ${e.id}`));
  });

  it.each(["+275760-09-13T00:00:00.000Z", "1", "-000001-01-01T00:00:00.000Z"])("answers a generations cursor holding %s with 400 naming the cursor", async (createdAt) => {
    const cursor = Buffer.from(JSON.stringify([createdAt, "job_x"])).toString("base64url");
    const response = await api.call("GET", `/generations?projectId=${projectId}&cursor=${cursor}`);
    expect(response.status).toBe(400);
    expect(response.body).toEqual({ code: "invalid_argument", message: "cursor: is not a cursor returned by this API", details: { field: "cursor" } });
  });

  it("runs a follow-up on the same workspace, with the conversation as context", async () => {
    const second = await api.call("POST", "/generations", { projectId, prompt: "Add a line about dark mode" });
    const done = await waitForGeneration(api, second.body.id);
    expect(done.status).toBe("completed");
    expect(done.workspaceId).toBe(final.workspaceId);
    const page = await (await fetch(done.previewUrl)).text();
    expect(page).toContain("Follow-up: Add a line about dark mode");
    const lastRequest = model.requests.at(-1)!.body!;
    expect(JSON.stringify(lastRequest.messages[0])).toContain("Build a hello page");
    // The follow-up's first request continues the real conversation: the earlier tool calls, their long outputs compacted.
    const first = model.requests.find((r) => JSON.stringify(r.body?.messages.at(-1)).includes("Add a line about dark mode"))!.body!;
    const earlierCalls = first.messages.flatMap((m) => (typeof m.content === "string" ? [] : m.content.flatMap((b) => (b.type === "tool_use" ? [b.name] : []))));
    expect(earlierCalls).toEqual(["write_to_file", "write_to_file", "execute_command", "read_file", "replace_in_file", "execute_command", "list_files", "search_files", "attempt_completion"]);
    expect(JSON.stringify(first.messages)).toContain("[compacted: ");
    const list = await api.call("GET", `/generations?projectId=${projectId}`);
    expect(list.body.generations.map((g: { id: string }) => g.id)).toEqual([second.body.id, jobId]);
  });

  it("refuses a second active generation on a project, and bad input, with clear errors", async () => {
    const other = (await api.call("POST", "/projects", { name: "Busy" })).body.id;
    const first = await api.call("POST", "/generations", { projectId: other, prompt: "Build it" });
    const second = await api.call("POST", "/generations", { projectId: other, prompt: "Build it again" });
    expect(second.status).toBe(409);
    expect(second.body.code).toBe("already_exists");
    expect(second.body.message).toContain(first.body.id);
    await waitForGeneration(api, first.body.id);
    expect((await api.call("POST", "/generations", { projectId: other, prompt: "" })).body.message).toBe("prompt: must not be empty");
    expect((await api.call("POST", "/generations", { projectId: other, prompt: "x".repeat(20_001) })).body.message).toBe("prompt: must be at most 20000 characters, got 20001");
    expect((await api.call("POST", "/generations", { projectId: "prj_nope", prompt: "hi" })).status).toBe(404);
  });

  it("keeps every generation its owner's: another user gets 404", async () => {
    const stranger = client(kiln.url, (await kiln.createUser("stranger")).token);
    expect((await stranger.call("GET", `/generations/${jobId}`)).status).toBe(404);
    expect((await stranger.call("POST", `/generations/${jobId}/cancel`)).status).toBe(404);
    expect((await stranger.call("GET", `/generations?projectId=${projectId}`)).status).toBe(404);
    const events = await fetch(`${kiln.url}/generations/${jobId}/events`, { headers: { authorization: `Bearer ${(await kiln.createUser("x")).token}` } });
    expect(events.status).toBe(404);
    expect((await fetch(`${kiln.url}/generations/${jobId}/events`)).status).toBe(401);
  });

  it("exposes Prometheus metrics: generations by status, tool call durations, tokens, HTTP requests", async () => {
    const response = await fetch(`${kiln.url}/metrics`);
    expect(response.headers.get("content-type")).toContain("text/plain");
    const text = await response.text();
    expect(text).toMatch(/^kiln_generations\{status="completed"\} [1-9]/m);
    expect(text).toMatch(/^kiln_generations\{status="queued"\} 0$/m);
    expect(text).toMatch(/^kiln_tool_call_duration_seconds_count\{tool="replace_in_file",ok="true"\} [1-9]/m);
    expect(text).toMatch(/^kiln_tool_call_duration_seconds_count\{tool="execute_command",ok="false"\} [1-9]/m);
    expect(text).toMatch(/^kiln_model_tokens_total\{kind="output"\} [1-9]/m);
    expect(text).toMatch(/^kiln_http_request_duration_seconds_count\{method="POST",route="\/generations",status="200"\} [1-9]/m);
  });

  it("answers cancel of a finished generation with failed_precondition", async () => {
    const response = await api.call("POST", `/generations/${jobId}/cancel`);
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ code: "failed_precondition", message: `generation ${jobId} already completed; only a queued or running generation can be cancelled` });
  });

  it("re-creates a lost sandbox on the next prompt and restores the project from the vfs", async () => {
    await loseSandbox((await workspaceImpl().get({ id: final.workspaceId })).providerSandboxId!);
    const next = await api.call("POST", "/generations", { projectId, prompt: "Mention the restore" });
    const done = await waitForGeneration(api, next.body.id);
    expect(done.status).toBe("completed");
    expect(done.workspaceId).not.toBe(final.workspaceId);
    const events = await readEvents(kiln.url, token, next.body.id);
    expect(events.find((e) => e.event === "workspace")?.data).toMatchObject({ action: "recreating", previous: final.workspaceId });
    expect(events.find((e) => e.event === "restored")?.data).toMatchObject({ files: 2 });
    const page = await (await fetch(done.previewUrl)).text();
    // The restored page still carries the earlier follow-up, and the new one was added on top.
    expect(page).toContain("Follow-up: Add a line about dark mode");
    expect(page).toContain("Follow-up: Mention the restore");
  });

  it("cancels a generation mid-tool within a couple of seconds, keeping the files it wrote", async () => {
    const other = (await api.call("POST", "/projects", { name: "Cancelled" })).body.id;
    // A sleep no other test's process has on its command line (other files sleep 30 too).
    const sleeper = `sleep 30.${Date.now()}${process.pid}`;
    model.setScript([
      { content: [text("Writing, then a long command."), toolUse("write_to_file", { path: "kept.txt", content: "written before the cancel" })] },
      { content: [toolUse("execute_command", { command: sleeper })] },
    ]);
    try {
      const job = (await api.call("POST", "/generations", { projectId: other, prompt: "Take your time" })).body;
      const seen = await readEvents(kiln.url, token, job.id, { until: (e) => e.event === "tool_started" && e.data.name === "execute_command" });
      expect(seen.at(-1)?.data.name).toBe("execute_command");
      const asked = Date.now();
      const cancel = await api.call("POST", `/generations/${job.id}/cancel`);
      expect(cancel.status).toBe(200);
      const done = await waitForGeneration(api, job.id, 10_000);
      expect(done).toMatchObject({ status: "cancelled", error: "cancelled by the user" });
      expect(Date.now() - asked).toBeLessThan(3000);
      const kept = await api.call("GET", `/vfs/${other}/file?path=kept.txt`);
      expect(Buffer.from(kept.body.contentBase64, "base64").toString()).toBe("written before the cancel");
      // The command is killed right after the job stops (SIGTERM to its process group): within seconds.
      const { execSync } = await import("node:child_process");
      const deadline = Date.now() + 5000;
      while (execSync("ps -eo args").toString().includes(sleeper) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(execSync("ps -eo args").toString()).not.toContain(sleeper);
    } finally {
      model.setScript(helloAppSession);
    }
  });

  it("deletes a project with its sandbox, and with purge its files in the vfs too", async () => {
    const doomed = (await api.call("POST", "/projects", { name: "Doomed" })).body.id;
    const job = (await api.call("POST", "/generations", { projectId: doomed, prompt: "Build a hello page" })).body;
    const done = await waitForGeneration(api, job.id);
    expect(done.status).toBe("completed");
    expect((await mongo.db.collection("files").countDocuments({ projectId: doomed })).valueOf()).toBeGreaterThan(0);

    expect((await api.call("DELETE", `/projects/${doomed}?purge=true`)).status).toBe(200);
    expect((await api.call("GET", `/projects/${doomed}`)).status).toBe(404);
    expect((await workspaceImpl().get({ id: done.workspaceId })).status).toBe("deleted");
    expect(await mongo.db.collection("files").countDocuments({ projectId: doomed })).toBe(0);
    expect(await mongo.db.collection("blobs.files").countDocuments({ "metadata.projectId": doomed })).toBe(0);
    await expect(fetch(done.previewUrl)).rejects.toThrow();
  });
});
