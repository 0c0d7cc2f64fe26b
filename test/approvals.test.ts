import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeAnthropic, toolUse, type FakeAnthropic } from "./fakes/anthropic/server";
import { nthApprovalRequest, promptOf, resultsSent, scriptedTurns, startInMode } from "./support/approvals";
import { readEvents, waitForGeneration } from "./support/generation";
import { client, type TestClient } from "./support/http";
import { startTestKiln, type TestKiln } from "./support/kiln";
import { startTestMongo, type TestMongo } from "./support/mongo";

let mongo: TestMongo;
let model: FakeAnthropic;
let kiln: TestKiln;
let api: TestClient;
let token: string;

const run = (command: string) => [toolUse("execute_command", { command })];

const TURNS = {
  "Approve a command": [run("echo approved > out.txt")],
  "Deny a command": [run("echo denied > out.txt")],
  "Always allow": [run("echo a >> log.txt"), run("echo a >> log.txt"), run("echo a >> log.txt ")],
  "Cancel while waiting": [run("echo never > out.txt")],
  "Ask for a write": [[toolUse("write_to_file", { path: "index.html", content: "<h1>Hello</h1>\n" })], run("cat index.html")],
  "Auto mode": [run("echo auto > out.txt")],
  "Hostile path": [[toolUse("write_to_file", { path: "../../etc/cron.d/x", content: "* * * * * root id\n" })]],
  "Time out": [run("echo late > out.txt")],
};

async function files(projectId: string): Promise<Record<string, string>> {
  const listing = await api.call("GET", `/vfs/${projectId}/files`);
  const out: Record<string, string> = {};
  for (const { path } of listing.body.files as { path: string }[]) {
    out[path] = Buffer.from((await api.call("GET", `/vfs/${projectId}/file?path=${encodeURIComponent(path)}`)).body.contentBase64, "base64").toString();
  }
  return out;
}

const answer = (jobId: string, approvalId: string, body: Record<string, unknown>) => api.call("POST", `/generations/${jobId}/approvals/${approvalId}`, body);

beforeAll(async () => {
  mongo = await startTestMongo();
  model = await startFakeAnthropic({ script: scriptedTurns(TURNS) });
  kiln = await startTestKiln({
    MONGODB_URI: mongo.uri,
    KILN_MONGODB_DATABASE: mongo.databaseName,
    ANTHROPIC_BASE_URL: model.baseURL,
    ANTHROPIC_API_KEY: "sk-test-approvals",
    KILN_WORKSPACE_POLL_MS: "50",
  });
  ({ token } = await kiln.createUser("approver"));
  api = client(kiln.url, token);
}, 60_000);
afterAll(async () => {
  await kiln?.close();
  await model?.close();
  await mongo?.close();
});

describe("approval mode", () => {
  it("asks before a command, waits as waiting_for_approval, runs it once approved and answers a second answer with 409", async () => {
    const { projectId, jobId } = await startInMode(api, "commands", "Approve a command");
    const request = await nthApprovalRequest(kiln.url, token, jobId);
    expect(request.data).toMatchObject({ tool: "execute_command", subject: { kind: "command", command: "echo approved > out.txt", cwd: null, background: false } });
    expect((await api.call("GET", `/generations/${jobId}`)).body).toMatchObject({ status: "running", step: "waiting_for_approval" });
    const pending = (await api.call("GET", `/generations/${jobId}/approvals`)).body.approvals;
    expect(pending).toMatchObject([{ id: request.data.approvalId, status: "pending", input: { command: "echo approved > out.txt" } }]);
    // No model request is held open while the user decides.
    expect(model.requests.filter((r) => promptOf(r) === "Approve a command")).toHaveLength(1);

    const approved = await answer(jobId, request.data.approvalId as string, { decision: "approve" });
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ status: "approved", answeredBy: expect.any(String), alwaysAllow: false });
    const twice = await answer(jobId, request.data.approvalId as string, { decision: "deny" });
    expect(twice.status).toBe(409);
    expect(twice.body).toMatchObject({ code: "aborted", message: expect.stringContaining("already answered: approved") });

    await waitForGeneration(api, jobId);
    expect(resultsSent(model.requests, "Approve a command")).toEqual([["exit code 0\n", false]]);
    expect((await files(projectId))["out.txt"]).toBe("approved\n");
    const events = await readEvents(kiln.url, token, jobId);
    const steps = events.filter((e) => e.event === "step").map((e) => e.data.step);
    expect(steps).toContain("waiting_for_approval");
    expect(steps.at(-2)).toBe("generating");
    expect(events.filter((e) => e.event === "approval_answered").map((e) => e.data.status)).toEqual(["approved"]);
    expect((await api.call("GET", `/generations/${jobId}/approvals`)).body.approvals).toEqual([]);
  }, 60_000);

  it("sends a denial with its reason to the model as the tool result, and the command never runs", async () => {
    const { projectId, jobId } = await startInMode(api, "commands", "Deny a command");
    const request = await nthApprovalRequest(kiln.url, token, jobId);
    const denied = await answer(jobId, request.data.approvalId as string, { decision: "deny", reason: "  not on my machine  " });
    expect(denied.body).toMatchObject({ status: "denied", reason: "not on my machine" });
    await waitForGeneration(api, jobId);
    const [[result, isError]] = resultsSent(model.requests, "Deny a command");
    expect(isError).toBe(true);
    expect(result).toMatch(/^denied by the user: not on my machine\./);
    expect(Object.keys(await files(projectId))).not.toContain("out.txt");
  }, 60_000);

  it("always allows exactly the approved command string in the project, and asks again for one that differs by a space", async () => {
    const { projectId, jobId } = await startInMode(api, "commands", "Always allow");
    const first = await nthApprovalRequest(kiln.url, token, jobId);
    const id = first.data.approvalId as string;
    // Only an approval of a command may always allow it.
    expect((await answer(jobId, id, { decision: "deny", alwaysAllow: true })).status).toBe(400);
    expect((await answer(jobId, id, { decision: "approve", alwaysAllow: true })).body).toMatchObject({ status: "approved", alwaysAllow: true });
    const third = await nthApprovalRequest(kiln.url, token, jobId, 2);
    expect(third.data.subject).toMatchObject({ command: "echo a >> log.txt " });
    await answer(jobId, third.data.approvalId as string, { decision: "deny" });
    await waitForGeneration(api, jobId);
    const results = resultsSent(model.requests, "Always allow");
    expect(results.map(([, isError]) => isError)).toEqual([false, false, true]);
    expect((await files(projectId))["log.txt"]).toBe("a\na\n");
    const all = (await api.call("GET", `/generations/${jobId}/approvals?pending=false`)).body.approvals;
    expect(all.map((a: { status: string }) => a.status)).toEqual(["approved", "denied"]);
  }, 60_000);

  it("asks before a write in `everything` mode, showing the file and its diff", async () => {
    const { projectId, jobId } = await startInMode(api, "everything", "Ask for a write");
    const write = await nthApprovalRequest(kiln.url, token, jobId);
    expect(write.data).toMatchObject({ tool: "write_to_file", subject: { kind: "file", path: "index.html" } });
    expect(write.data.subject).toMatchObject({ diff: expect.stringContaining("+<h1>Hello</h1>") });
    expect((await answer(jobId, write.data.approvalId as string, { decision: "approve", alwaysAllow: true })).status).toBe(400);
    await answer(jobId, write.data.approvalId as string, { decision: "approve" });
    const command = await nthApprovalRequest(kiln.url, token, jobId, 2);
    await answer(jobId, command.data.approvalId as string, { decision: "approve" });
    await waitForGeneration(api, jobId);
    expect((await files(projectId))["index.html"]).toBe("<h1>Hello</h1>\n");
  }, 60_000);

  it("does not ask about a call the tool refuses anyway (a path outside the project): it fails without running", async () => {
    const { jobId } = await startInMode(api, "everything", "Hostile path");
    await waitForGeneration(api, jobId);
    const events = await readEvents(kiln.url, token, jobId);
    expect(events.filter((e) => e.event.startsWith("approval_"))).toEqual([]);
    const [[result, isError]] = resultsSent(model.requests, "Hostile path");
    expect([result, isError]).toEqual([expect.stringContaining("invalid input: path:"), true]);
  }, 60_000);

  it("runs commands without asking in auto mode", async () => {
    const { projectId, jobId } = await startInMode(api, "auto", "Auto mode");
    await waitForGeneration(api, jobId);
    const events = await readEvents(kiln.url, token, jobId);
    expect(events.filter((e) => e.event.startsWith("approval_"))).toEqual([]);
    expect((await files(projectId))["out.txt"]).toBe("auto\n");
  }, 60_000);

  it("cancels a generation waiting for an approval: the approval is cancelled, answering it is 409, the command never runs", async () => {
    const { projectId, jobId } = await startInMode(api, "commands", "Cancel while waiting");
    const request = await nthApprovalRequest(kiln.url, token, jobId);
    expect((await api.call("POST", `/generations/${jobId}/cancel`)).status).toBe(200);
    const done = await waitForGeneration(api, jobId);
    expect(done.status).toBe("cancelled");
    const late = await answer(jobId, request.data.approvalId as string, { decision: "approve" });
    expect([late.status, late.body.message]).toEqual([409, `approval ${request.data.approvalId} can no longer be answered: the generation ended (cancelled) before this was answered`]);
    expect((await api.call("GET", `/generations/${jobId}/approvals`)).body.approvals).toEqual([]);
    const [approval] = (await api.call("GET", `/generations/${jobId}/approvals?pending=false`)).body.approvals;
    expect(approval).toMatchObject({ status: "cancelled", reason: "the generation ended (cancelled) before this was answered" });
    expect(Object.keys(await files(projectId))).not.toContain("out.txt");
  }, 60_000);

  it("refuses bad answers with a 4xx naming what is wrong, and hides another user's approvals", async () => {
    const { jobId } = await startInMode(api, "commands", "Cancel while waiting");
    const request = await nthApprovalRequest(kiln.url, token, jobId);
    const id = request.data.approvalId as string;
    const cases: [Record<string, unknown>, number, string][] = [
      [{ decision: "maybe" }, 400, 'decision: must be "approve" or "deny"'],
      [{}, 400, "decision"],
      [{ decision: "deny", reason: "x".repeat(1001) }, 400, "reason: must be at most 1000 characters"],
      [{ decision: "approve", alwaysAllow: "yes" }, 400, "alwaysAllow: must be true or false"],
    ];
    for (const [body, status, message] of cases) {
      const answered = await answer(jobId, id, body);
      expect([answered.status, answered.body.message]).toEqual([status, expect.stringContaining(message)]);
    }
    expect((await answer(jobId, "apr_unknown", { decision: "approve" })).status).toBe(404);
    const stranger = client(kiln.url, (await kiln.createUser("stranger")).token);
    expect((await stranger.call("POST", `/generations/${jobId}/approvals/${id}`, { decision: "approve" })).status).toBe(404);
    expect((await stranger.call("GET", `/generations/${jobId}/approvals`)).status).toBe(404);
    const project = (await api.call("GET", `/generations/${jobId}`)).body.projectId;
    const badMode = await api.call("PATCH", `/projects/${project}`, { approvalMode: "sometimes" });
    expect([badMode.status, badMode.body.message]).toEqual([400, "approvalMode: must be one of auto, commands, everything"]);
    // Still pending after all of that.
    expect((await api.call("GET", `/generations/${jobId}/approvals`)).body.approvals).toHaveLength(1);
    await api.call("POST", `/generations/${jobId}/cancel`);
    await waitForGeneration(api, jobId);
  }, 60_000);
});

describe("an approval nobody answers", () => {
  let short: TestKiln;
  let shortApi: TestClient;
  let shortToken: string;
  beforeAll(async () => {
    short = await startTestKiln({
      MONGODB_URI: mongo.uri,
      KILN_MONGODB_DATABASE: `${mongo.databaseName}_short`,
      ANTHROPIC_BASE_URL: model.baseURL,
      ANTHROPIC_API_KEY: "sk-test-approvals",
      KILN_WORKSPACE_POLL_MS: "50",
      KILN_APPROVAL_TIMEOUT_SECONDS: "1",
    });
    shortToken = (await short.createUser("sleeper")).token;
    shortApi = client(short.url, shortToken);
  }, 60_000);
  afterAll(async () => short?.close());

  it("times out as denied with the reason sent to the model, and a late answer is 409", async () => {
    const { projectId, jobId } = await startInMode(shortApi, "commands", "Time out");
    const request = await nthApprovalRequest(short.url, shortToken, jobId);
    const done = await waitForGeneration(shortApi, jobId);
    expect(done.status).not.toBe("running");
    const [[result, isError]] = resultsSent(model.requests, "Time out");
    expect([result, isError]).toEqual(["denied: no answer within 1 s (the approval timed out). Do not repeat this call as it is.", true]);
    const late = await shortApi.call("POST", `/generations/${jobId}/approvals/${request.data.approvalId}`, { decision: "approve" });
    expect(late.status).toBe(409);
    const events = await readEvents(short.url, shortToken, jobId);
    expect(events.find((e) => e.event === "approval_answered")?.data).toMatchObject({ status: "timed_out" });
    const listing = await shortApi.call("GET", `/vfs/${projectId}/files`);
    expect(listing.body.files.map((f: { path: string }) => f.path)).not.toContain("out.txt");
  }, 60_000);
});
