import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeAnthropic, text, toolUse, type FakeAnthropic } from "./fakes/anthropic/server";
import { readEvents, waitForGeneration } from "./support/generation";
import { client, type TestClient } from "./support/http";
import { startTestKiln, type TestKiln } from "./support/kiln";
import { startTestMongo, type TestMongo } from "./support/mongo";

let kiln: TestKiln;
let mongo: TestMongo;
let model: FakeAnthropic;
let api: TestClient;
let token: string;
const workers: ChildProcess[] = [];

beforeAll(async () => {
  mongo = await startTestMongo();
  model = await startFakeAnthropic({
    script: [
      { content: [text("Writing a file, then a long build."), toolUse("write_to_file", { path: "kept.txt", content: "written before the crash" })] },
      { content: [toolUse("execute_command", { command: "sleep 60" })] },
    ],
  });
  // This server runs no jobs itself: separate worker processes do, through its database.
  kiln = await startTestKiln({
    MONGODB_URI: mongo.uri,
    KILN_MONGODB_DATABASE: mongo.databaseName,
    ANTHROPIC_BASE_URL: model.baseURL,
    ANTHROPIC_API_KEY: "sk-test-crash",
    KILN_RUNNER_CONCURRENCY: "0",
  });
  ({ token } = await kiln.createUser("crash"));
  api = client(kiln.url, token);
}, 60_000);
afterAll(async () => {
  for (const worker of workers) worker.kill("SIGKILL");
  await kiln?.close();
  await model?.close();
  await mongo?.close();
});

/** `npm run worker` as a real child process, sharing the test server's database, vfs and sandboxes. */
function startWorker(options: { concurrency?: string } = {}): ChildProcess {
  const { config } = kiln;
  const worker = spawn(process.execPath, ["--import", "tsx", fileURLToPath(new URL("../server/worker.ts", import.meta.url))], {
    env: {
      ...process.env,
      DATABASE_URL: kiln.kiln.databases.url,
      KILN_SCHEMA_PREFIX: config.schemaPrefix,
      KILN_DATA_DIR: config.dataDir,
      KILN_SANDBOX_ISOLATION: config.sandboxIsolation,
      KILN_PREVIEW_PORTS: `${config.previewPorts[0]}-${config.previewPorts[1]}`,
      MONGODB_URI: mongo.uri,
      KILN_MONGODB_DATABASE: mongo.databaseName,
      ANTHROPIC_BASE_URL: model.baseURL,
      ANTHROPIC_API_KEY: "sk-test-crash",
      KILN_RUNNER_CONCURRENCY: options.concurrency ?? "1",
      KILN_RUNNER_LEASE_MS: "1500",
      KILN_WORKSPACE_POLL_MS: "50",
      LOG_LEVEL: process.env.KILN_WORKER_LOG ?? "warn",
    },
    stdio: ["ignore", "ignore", process.env.KILN_WORKER_LOG ? "inherit" : "pipe"],
  });
  workers.push(worker);
  return worker;
}

describe("a runner killed mid-job", () => {
  it("is recovered by another: the job ends failed with a reason that says so, and nothing written is lost", async () => {
    const projectId = (await api.call("POST", "/projects", { name: "Crash" })).body.id;
    const job = (await api.call("POST", "/generations", { projectId, prompt: "Build slowly" })).body;
    const first = startWorker();
    await readEvents(kiln.url, token, job.id, { until: (e) => e.event === "tool_started" && e.data.name === "execute_command" });
    first.kill("SIGKILL");
    await new Promise((resolve) => first.once("exit", resolve));
    expect((await api.call("GET", `/generations/${job.id}`)).body.status).toBe("running");

    const second = startWorker();
    const done = await waitForGeneration(api, job.id, 45_000);
    expect(done.status).toBe("failed");
    expect(done.error).toBe("the server running this generation stopped during generating; the files written so far are kept. Send a follow-up prompt to continue.");
    expect(done.attempt).toBe(2);
    const kept = await api.call("GET", `/vfs/${projectId}/file?path=kept.txt`);
    expect(Buffer.from(kept.body.contentBase64, "base64").toString()).toBe("written before the crash");
    second.kill("SIGTERM");
    await new Promise((resolve) => second.once("exit", resolve));
  }, 90_000);

  it("recovers 10 concurrent jobs after a SIGKILL: every job ends with a reason, none stuck, every file in the sandboxes reaches the vfs", async () => {
    // Each job writes a file through the tool, one more straight from a command (no per-file backup),
    // then starts a long build: the worker is killed while all ten are in it.
    model.setScript((request) => {
      const turns = request.body!.messages.filter((m) => m.role === "assistant").length;
      if (turns === 0) return { content: [toolUse("write_to_file", { path: "tool.txt", content: `written by ${request.index}` })] };
      if (turns === 1) return { content: [toolUse("execute_command", { command: "echo 'written by a command' > command.txt" })] };
      return { content: [toolUse("execute_command", { command: "sleep 60" })] };
    });
    const jobs = await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        const projectId = (await api.call("POST", "/projects", { name: `Crash ${i}` })).body.id;
        return { projectId, id: (await api.call("POST", "/generations", { projectId, prompt: "Build slowly" })).body.id as string };
      }),
    );
    const worker = startWorker({ concurrency: "10" });
    await Promise.all(
      jobs.map((job) => readEvents(kiln.url, token, job.id, { until: (e) => e.event === "tool_finished" && String(e.data.output).startsWith("exit code 0") })),
    );
    worker.kill("SIGKILL");
    await new Promise((resolve) => worker.once("exit", resolve));

    startWorker({ concurrency: "10" });
    const outcomes = await Promise.all(jobs.map((job) => waitForGeneration(api, job.id, 60_000)));
    const counts = { completed: 0, failed: 0, cancelled: 0 };
    for (const done of outcomes) counts[done.status as keyof typeof counts]++;
    expect(counts).toEqual({ completed: 0, failed: 10, cancelled: 0 });
    for (const done of outcomes) expect(done.error).toContain("the files written so far are kept");

    for (const job of jobs) {
      const files = await api.call("GET", `/vfs/${job.projectId}/files`);
      expect(files.body.files.map((f: { path: string }) => f.path).sort()).toEqual(["command.txt", "tool.txt"]);
    }
  }, 120_000);
});
