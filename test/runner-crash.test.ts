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
function startWorker(): ChildProcess {
  const { config } = kiln;
  const worker = spawn(process.execPath, ["--import", "tsx", fileURLToPath(new URL("../server/worker.ts", import.meta.url))], {
    env: {
      ...process.env,
      DATABASE_URL: kiln.kiln.databases.url,
      KILN_SCHEMA_PREFIX: config.schemaPrefix,
      KILN_DATA_DIR: config.dataDir,
      KILN_PREVIEW_PORTS: `${config.previewPorts[0]}-${config.previewPorts[1]}`,
      MONGODB_URI: mongo.uri,
      KILN_MONGODB_DATABASE: mongo.databaseName,
      ANTHROPIC_BASE_URL: model.baseURL,
      ANTHROPIC_API_KEY: "sk-test-crash",
      KILN_RUNNER_CONCURRENCY: "1",
      KILN_RUNNER_LEASE_MS: "1500",
      KILN_WORKSPACE_POLL_MS: "50",
      LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "ignore", "pipe"],
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

    startWorker();
    const done = await waitForGeneration(api, job.id, 45_000);
    expect(done.status).toBe("failed");
    expect(done.error).toBe("the server running this generation stopped during generating; the files written so far are kept. Send a follow-up prompt to continue.");
    expect(done.attempt).toBe(2);
    const kept = await api.call("GET", `/vfs/${projectId}/file?path=kept.txt`);
    expect(Buffer.from(kept.body.contentBase64, "base64").toString()).toBe("written before the crash");
  }, 90_000);
});
