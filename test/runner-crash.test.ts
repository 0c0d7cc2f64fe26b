import type { ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { INTERRUPTED_TOOL_CALL } from "../ai/agent/loop";
import { FINAL_EVENT_TYPES } from "../ai/contract";
import { startFakeAnthropic, text, toolUse, type FakeAnthropic, type RecordedRequest, type ScriptFunction } from "./fakes/anthropic/server";
import { promptOf } from "./support/approvals";
import { readEvents, waitForGeneration, type SseEvent } from "./support/generation";
import { client, type TestClient } from "./support/http";
import { startTestKiln, type TestKiln } from "./support/kiln";
import { startTestMongo, type TestMongo } from "./support/mongo";
import { startWorker as spawnWorker, unexpectedExit } from "./support/worker";

let kiln: TestKiln;
let mongo: TestMongo;
let model: FakeAnthropic;
let api: TestClient;
let token: string;
const workers: ChildProcess[] = [];

beforeAll(async () => {
  mongo = await startTestMongo();
  model = await startFakeAnthropic();
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

/** A worker process sharing the test server's database, vfs and sandboxes. */
function startWorker(options: { concurrency?: string } = {}): ChildProcess {
  const worker = spawnWorker(kiln, mongo, { ANTHROPIC_BASE_URL: model.baseURL, ANTHROPIC_API_KEY: "sk-test-crash", KILN_RUNNER_CONCURRENCY: options.concurrency ?? "1" });
  workers.push(worker);
  return worker;
}

const SERVER = `const fs = require("node:fs");
require("node:http").createServer((req, res) => {
  res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
  res.end(fs.readFileSync(__dirname + "/index.html"));
}).listen(Number(process.env.PORT || 3000), "0.0.0.0");
`;

/**
 * A session that writes an app, runs a slow command that leaves a trace of each run, writes one more
 * file and completes; each answer comes after `delayMs`. It goes by what the conversation shows done,
 * as a careful model would after a restart: a write answered as interrupted is written again (writing
 * is idempotent), the command is not: the model checks the state instead (reads its trace), and runs it
 * again only when the trace is not there (the server died before the command began).
 */
function slowSession(delayMs: (request: RecordedRequest) => number, command: string): ScriptFunction {
  return async (request) => {
    await new Promise((resolve) => setTimeout(resolve, delayMs(request)));
    const name = promptOf(request);
    const calls = new Map<string, { name: string; path?: string }>();
    const written = new Set<string>();
    let ranCommand = false;
    let interrupted = false;
    let trace: "present" | "absent" | null = null;
    for (const message of request.body!.messages) {
      if (typeof message.content === "string") continue;
      for (const block of message.content) {
        if (block.type === "tool_use") calls.set(block.id, { name: block.name, path: (block.input as { path?: string }).path });
        if (block.type !== "tool_result") continue;
        const call = calls.get(block.tool_use_id);
        if (call?.name === "execute_command") {
          interrupted = block.content === INTERRUPTED_TOOL_CALL;
          ranCommand ||= !interrupted;
          trace = null;
        }
        if (call?.name === "read_file" && call.path === "runs.txt") trace = block.is_error === true ? "absent" : "present";
        if (call?.name === "write_to_file" && block.is_error !== true) written.add(call.path!);
      }
    }
    if (interrupted && !ranCommand) {
      if (trace === null) return { content: [toolUse("read_file", { path: "runs.txt" })] };
      ranCommand = trace === "present";
    }
    if (!written.has("index.html") || !written.has("server.js")) {
      return {
        content: [
          text("Writing the app."),
          toolUse("write_to_file", { path: "index.html", content: `<!doctype html><html><head><title>${name}</title></head><body><h1>${name}</h1></body></html>\n` }),
          toolUse("write_to_file", { path: "server.js", content: SERVER }),
        ],
      };
    }
    if (!ranCommand) return { content: [toolUse("execute_command", { command })] };
    if (!written.has("after.txt")) return { content: [toolUse("write_to_file", { path: "after.txt", content: "written after the command" })] };
    return { content: [toolUse("attempt_completion", { summary: `Built ${name}.`, dev_command: "node server.js" })] };
  };
}

/** Every tool call the fake made in a job's conversation, and how many results each got, from the last request it received. */
function toolResultCounts(prompt: string): Map<string, number> {
  const last = model.requests.filter((r) => promptOf(r) === prompt).at(-1)!;
  const counts = new Map<string, number>();
  for (const message of last.body!.messages) {
    if (typeof message.content === "string") continue;
    for (const block of message.content) {
      if (block.type === "tool_use") counts.set(block.id, counts.get(block.id) ?? 0);
      if (block.type === "tool_result") counts.set(block.tool_use_id, (counts.get(block.tool_use_id) ?? 0) + 1);
    }
  }
  return counts;
}

/**
 * Follows a job's event stream to its final event, as the dashboard does (again from the last id when a
 * stream ends first), then reads the job. Ten jobs polled every 50 ms were 200 requests a second against
 * a server already sharing the machine with the workers: on a loaded machine the test then measured load.
 * The job is also looked at once a second, and once it ended its whole log is read again: a stream woken
 * late on a loaded machine slows the test down, it does not hang it.
 */
async function followToEnd(jobId: string): Promise<{ job: any; events: SseEvent[] }> {
  const controller = new AbortController();
  const ended = (async () => {
    while (!controller.signal.aborted) {
      const { body } = await api.call("GET", `/generations/${jobId}`);
      if (["completed", "failed", "cancelled"].includes(body.status)) return;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  })();
  const events: SseEvent[] = [];
  const streamed = (async () => {
    for (;;) {
      events.push(...(await readEvents(kiln.url, token, jobId, { lastEventId: events.at(-1)?.id ?? 0, until: (e) => FINAL_EVENT_TYPES.has(e.event) })));
      if (events.some((e) => FINAL_EVENT_TYPES.has(e.event))) return events;
    }
  })();
  // Whichever loses the race may still settle: it must not surface as an unhandled rejection.
  streamed.catch(() => undefined);
  ended.catch(() => undefined);
  const log = await Promise.race([streamed, ended.then(() => readEvents(kiln.url, token, jobId))]);
  controller.abort();
  return { job: (await api.call("GET", `/generations/${jobId}`)).body, events: log };
}

/**
 * The calls of a model response still unfinished when a later response's call started, over a job's
 * events (a response ends with its `usage`): none, when every tool's `tool_finished` is stored before
 * the next call's `tool_started`. Calls streamed by a response that died with its runner before it was
 * saved are never answered: a `resumed` drops them.
 */
function startedBeforeFinished(events: SseEvent[]): string[] {
  const finished = new Set<string>();
  let answered: string[] = [];
  let streaming: string[] = [];
  const late: string[] = [];
  for (const { event, data } of events) {
    const id = String(data.id);
    if (event === "resumed") streaming = [];
    if (event === "usage") [answered, streaming] = [[...answered, ...streaming], []];
    if (event === "tool_finished") finished.add(id);
    if (event === "tool_started") {
      late.push(...answered.filter((earlier) => !finished.has(earlier)).map((earlier) => `${earlier} before ${id}`));
      streaming.push(id);
    }
  }
  return late;
}

async function fileText(projectId: string, path: string): Promise<string> {
  return Buffer.from((await api.call("GET", `/vfs/${projectId}/file?path=${path}`)).body.contentBase64, "base64").toString();
}

describe("a runner killed mid-job", () => {
  it("is resumed by another: the interrupted command is answered as interrupted, not re-run, and the job completes with its events going on", async () => {
    model.setScript(slowSession(() => 0, "echo ran >> runs.txt && sleep 60"));
    const projectId = (await api.call("POST", "/projects", { name: "Crash" })).body.id;
    const job = (await api.call("POST", "/generations", { projectId, prompt: "Build slowly" })).body;
    const first = startWorker();
    await readEvents(kiln.url, token, job.id, { until: (e) => e.event === "tool_started" && e.data.name === "execute_command" });
    await new Promise((resolve) => setTimeout(resolve, 500));
    first.kill("SIGKILL");
    await new Promise((resolve) => first.once("exit", resolve));
    expect((await api.call("GET", `/generations/${job.id}`)).body.status).toBe("running");

    const second = startWorker();
    const done = await waitForGeneration(api, job.id, 60_000);
    expect(done).toMatchObject({ status: "completed", summary: "Built Build slowly.", attempt: 2 });
    expect(await fileText(projectId, "runs.txt")).toBe("ran\n");
    expect(await fileText(projectId, "after.txt")).toBe("written after the command");
    expect((await api.call("GET", `/projects/${projectId}`)).body.status).toBe("ready");

    const events = await readEvents(kiln.url, token, job.id);
    expect(events.map((e) => e.id)).toEqual(events.map((_, i) => i + 1));
    expect(events.find((e) => e.event === "resumed")?.data).toMatchObject({ attempt: 2, step: "generating" });
    const command = events.filter((e) => e.event === "tool_finished" && e.data.name === "execute_command");
    expect(command.map((e) => [e.data.ok, e.data.output])).toEqual([[false, INTERRUPTED_TOOL_CALL]]);
    expect(events.at(-1)?.event).toBe("completed");
    // Two writes, the command, the look at its trace, the write after it: each answered once (attempt_completion ends the run).
    expect([...toolResultCounts("Build slowly").values()]).toEqual([1, 1, 1, 1, 1]);
    second.kill("SIGTERM");
    await new Promise((resolve) => second.once("exit", resolve));
  }, 120_000);

  it("hands a job over when its worker stops gracefully: the next worker completes it, and the project's conversation has one prompt and one summary", async () => {
    model.setScript(slowSession(() => 0, "echo ran >> runs.txt && sleep 60"));
    const projectId = (await api.call("POST", "/projects", { name: "Graceful" })).body.id;
    const job = (await api.call("POST", "/generations", { projectId, prompt: "Build gracefully" })).body;
    const first = startWorker();
    await readEvents(kiln.url, token, job.id, { until: (e) => e.event === "tool_started" && e.data.name === "execute_command" });
    await new Promise((resolve) => setTimeout(resolve, 300));
    first.kill("SIGTERM");
    await new Promise((resolve) => first.once("exit", resolve));

    const second = startWorker();
    const done = await waitForGeneration(api, job.id, 60_000);
    expect(done).toMatchObject({ status: "completed", attempt: 2 });
    // The stopping worker wrote no "the run was cancelled" summary and no project state of its own.
    const conversation = await api.call("GET", `/projects/${projectId}/conversation`);
    expect(conversation.body.messages.map((m: { role: string; content: string }) => [m.role, m.content])).toEqual([
      ["user", "Build gracefully"],
      ["assistant", "Built Build gracefully."],
    ]);
    expect((await api.call("GET", `/projects/${projectId}`)).body.status).toBe("ready");
    second.kill("SIGTERM");
    await new Promise((resolve) => second.once("exit", resolve));
  }, 120_000);

  it("resumes 10 concurrent jobs after a SIGKILL in the agent phase: all complete, no file lost, no tool run twice, no project left generating", async () => {
    // Model answers take 0.1–1 s, the command 1.5 s: the kill finds jobs waiting for the model, running
    // the command, or between the two.
    model.setScript(slowSession((request) => 100 + ((request.index * 137) % 900), "echo ran >> runs.txt && sleep 1.5"));
    const jobs = await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        const projectId = (await api.call("POST", "/projects", { name: `Crash ${i}` })).body.id;
        const prompt = `Crash app ${i}`;
        return { projectId, prompt, id: (await api.call("POST", "/generations", { projectId, prompt })).body.id as string };
      }),
    );
    const worker = startWorker({ concurrency: "10" });
    const firstExit = unexpectedExit(worker);
    firstExit.catch(() => undefined);
    await Promise.race([Promise.all(jobs.map((job) => readEvents(kiln.url, token, job.id, { until: (e) => e.event === "tool_finished" && e.data.name === "write_to_file" }))), firstExit]);
    // Watched from before the kill to the end, as a dashboard left open would: its stream goes on through the takeover.
    const watched = jobs.map((job) => followToEnd(job.id));
    await new Promise((resolve) => setTimeout(resolve, 1200));
    worker.kill("SIGKILL");
    await new Promise((resolve) => worker.once("exit", resolve));

    const second = startWorker({ concurrency: "10" });
    const outcomes = await Promise.race([Promise.all(watched), unexpectedExit(second)]);
    expect(outcomes.map(({ job: done }) => [done.status, done.error])).toEqual(jobs.map(() => ["completed", null]));
    for (const { events } of outcomes) {
      // One log per job across both workers, in the order things happened.
      expect(events.map((e) => e.id)).toEqual(events.map((_, i) => i + 1));
      expect(startedBeforeFinished(events)).toEqual([]);
    }
    for (const job of jobs) {
      const files = await api.call("GET", `/vfs/${job.projectId}/files`);
      expect(files.body.files.map((f: { path: string }) => f.path).sort()).toEqual(["after.txt", "index.html", "runs.txt", "server.js"]);
      expect(await fileText(job.projectId, "runs.txt")).toBe("ran\n");
      // Every call answered exactly once (a write interrupted by the kill is asked for again, by a new call).
      const counts = [...toolResultCounts(job.prompt).values()];
      expect(counts.length).toBeGreaterThanOrEqual(4);
      expect(counts.every((n) => n === 1)).toBe(true);
      expect((await api.call("GET", `/projects/${job.projectId}`)).body.status).toBe("ready");
    }
    second.kill("SIGTERM");
    await new Promise((resolve) => second.once("exit", resolve));
  }, 240_000);
});
