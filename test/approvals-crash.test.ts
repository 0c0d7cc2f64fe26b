import type { ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeAnthropic, toolUse, type FakeAnthropic } from "./fakes/anthropic/server";
import { nthApprovalRequest, resultsSent, scriptedTurns, startInMode } from "./support/approvals";
import { readEvents, waitForGeneration } from "./support/generation";
import { client, type TestClient } from "./support/http";
import { startTestKiln, type TestKiln } from "./support/kiln";
import { startTestMongo, type TestMongo } from "./support/mongo";
import { startWorker } from "./support/worker";

let kiln: TestKiln;
let mongo: TestMongo;
let model: FakeAnthropic;
let api: TestClient;
let token: string;
const workers: ChildProcess[] = [];
const MODEL_ENV = { ANTHROPIC_API_KEY: "sk-test-approval-crash" };

const TURNS = {
  "Wait through a crash": [[toolUse("execute_command", { command: "echo ran >> runs.txt" })]],
  "Answered while down": [[toolUse("execute_command", { command: "echo ran >> runs.txt" })]],
};

beforeAll(async () => {
  mongo = await startTestMongo();
  model = await startFakeAnthropic({ script: scriptedTurns(TURNS) });
  // This server runs no jobs itself: worker processes do, through its database.
  kiln = await startTestKiln({ MONGODB_URI: mongo.uri, KILN_MONGODB_DATABASE: mongo.databaseName, ANTHROPIC_BASE_URL: model.baseURL, ...MODEL_ENV, KILN_RUNNER_CONCURRENCY: "0" });
  ({ token } = await kiln.createUser("crash"));
  api = client(kiln.url, token);
}, 60_000);
afterAll(async () => {
  for (const worker of workers) worker.kill("SIGKILL");
  await kiln?.close();
  await model?.close();
  await mongo?.close();
});

function worker(): ChildProcess {
  const started = startWorker(kiln, mongo, { ANTHROPIC_BASE_URL: model.baseURL, ...MODEL_ENV });
  workers.push(started);
  return started;
}

async function kill(process: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  process.kill(signal);
  await new Promise((resolve) => process.once("exit", resolve));
}

async function runsTxt(projectId: string): Promise<string> {
  return Buffer.from((await api.call("GET", `/vfs/${projectId}/file?path=runs.txt`)).body.contentBase64, "base64").toString();
}

describe("a server killed while a generation waits for an approval", () => {
  it("leaves the approval pending; the resumed run waits for the same approval and runs the call once it is approved", async () => {
    const { projectId, jobId } = await startInMode(api, "commands", "Wait through a crash");
    const first = worker();
    const request = await nthApprovalRequest(kiln.url, token, jobId);
    await kill(first, "SIGKILL");

    const second = worker();
    // The resumed run does not answer the call as interrupted: it waits for the same approval.
    let taken = false;
    const resumed = await readEvents(kiln.url, token, jobId, {
      lastEventId: request.id,
      until: (e) => (taken ||= e.event === "resumed") && e.event === "step" && e.data.step === "waiting_for_approval",
    });
    expect(resumed.find((e) => e.event === "resumed")?.data).toMatchObject({ attempt: 2 });
    expect(resumed.filter((e) => e.event === "approval_requested" || e.event === "tool_finished")).toEqual([]);
    expect((await api.call("GET", `/generations/${jobId}/approvals`)).body.approvals.map((a: { id: string }) => a.id)).toEqual([request.data.approvalId]);

    expect((await api.call("POST", `/generations/${jobId}/approvals/${request.data.approvalId}`, { decision: "approve" })).status).toBe(200);
    const done = await waitForGeneration(api, jobId, 60_000);
    expect(done.attempt).toBe(2);
    expect(await runsTxt(projectId)).toBe("ran\n");
    expect(resultsSent(model.requests, "Wait through a crash")).toEqual([["exit code 0\n", false]]);
    await kill(second, "SIGTERM");
  }, 120_000);

  it("acts on an answer given while no server ran: approved, the resumed run runs the call once without asking again", async () => {
    const { projectId, jobId } = await startInMode(api, "commands", "Answered while down");
    const first = worker();
    const request = await nthApprovalRequest(kiln.url, token, jobId);
    await kill(first, "SIGKILL");
    expect((await api.call("POST", `/generations/${jobId}/approvals/${request.data.approvalId}`, { decision: "approve" })).status).toBe(200);

    const second = worker();
    const done = await waitForGeneration(api, jobId, 60_000);
    expect(done.attempt).toBe(2);
    expect(await runsTxt(projectId)).toBe("ran\n");
    const events = await readEvents(kiln.url, token, jobId);
    expect(events.filter((e) => e.event === "approval_requested")).toHaveLength(1);
    expect(events.filter((e) => e.event === "tool_finished").map((e) => e.data.ok)).toEqual([true]);
    await kill(second, "SIGTERM");
  }, 120_000);
});
