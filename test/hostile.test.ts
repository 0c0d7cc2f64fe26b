import { execSync } from "node:child_process";
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { wellFormed } from "../lib/unicode";
import { text, toolUse, type FakeAnthropic } from "./fakes/anthropic/server";
import type { Turn } from "./fakes/anthropic/script";
import { readEvents, waitForGeneration, type SseEvent } from "./support/generation";
import { MISSING_ISOLATION, withoutIsolationPrograms } from "./support/isolation";
import { HOSTILE_PATHS, namesRoot } from "./support/hostile-paths";
import type { TestClient } from "./support/http";
import type { TestKiln } from "./support/kiln";
import type { TestMongo } from "./support/mongo";
import { startGenerationStack, type GenerationStack } from "./support/stack";

const SECRET_KEY = "sk-ant-hostile-0123456789-SECRET";

/** Every agent tool call that takes `path` (as a path or a cwd); the root is a fine directory, so those take files only. */
function pathCalls(path: string): { name: string; input: object }[] {
  const asFile = [
    { name: "write_to_file", input: { path, content: "pwned" } },
    { name: "read_file", input: { path } },
    { name: "replace_in_file", input: { path, old: "root", new: "toor" } },
  ];
  if (namesRoot(path)) return asFile;
  return [
    ...asFile,
    { name: "list_files", input: { path } },
    { name: "search_files", input: { pattern: "root", path } },
    { name: "execute_command", input: { command: "echo pwned > escaped.txt", cwd: path } },
  ];
}
const HOSTILE_CALLS = HOSTILE_PATHS.map(([, path]) => pathCalls(path));
const HOSTILE_CALL_COUNT = HOSTILE_CALLS.flat().length;

let stack: GenerationStack;
let kiln: TestKiln;
let mongo: TestMongo;
let model: FakeAnthropic;
let api: TestClient;
let token: string;

beforeAll(async () => {
  stack = await startGenerationStack({ env: { ANTHROPIC_API_KEY: SECRET_KEY, KILN_MAX_TURNS: "100" } });
  ({ kiln, mongo, model, api, token } = stack);
}, 60_000);
afterAll(async () => {
  await stack?.close();
});

/** Plays each group of `calls` as one turn, then ends the turn; returns every tool result event of the run. */
async function agentRun(calls: { name: string; input: object }[][]): Promise<SseEvent[]> {
  const turns: Turn[] = [...calls.map((group) => ({ content: group.map((c) => toolUse(c.name, c.input)) })), { content: [text("Done probing.")] }];
  model.setScript(turns);
  const projectId = (await api.call("POST", "/projects", { name: "Probe" })).body.id;
  const job = (await api.call("POST", "/generations", { projectId, prompt: "Probe the sandbox" })).body;
  await waitForGeneration(api, job.id, 120_000);
  return (await readEvents(kiln.url, token, job.id)).filter((e) => e.event === "tool_finished");
}

describe("hostile input through the agent's tools", () => {
  let results: SseEvent[];
  const canary = `/tmp/kiln-canary-${process.pid}`;

  beforeAll(async () => {
    const probes = [
      { name: "execute_command", input: { command: "ln -s /etc outside-etc && ln -s /etc/passwd passwd-link && mkdir -p real && echo ok" } },
      { name: "read_file", input: { path: "passwd-link" } },
      { name: "write_to_file", input: { path: "outside-etc/kiln-escape", content: "pwned" } },
      { name: "replace_in_file", input: { path: "passwd-link", old: "root", new: "toor" } },
      // Without the boundary the test server runs unconfined: writing outside would really write (the refusal is tested below instead).
      { name: "execute_command", input: { command: MISSING_ISOLATION ? "ls /root >/dev/null; env" : `echo pwned > ${canary}; echo pwned > /root/kiln-escape; echo pwned > /etc/kiln-escape; ls /root; env` } },
      { name: "execute_command", input: { command: "sleep 97 & sleep 98 & wait", timeout_seconds: 1 } },
      { name: "execute_command", input: { command: "yes kiln | head -c 100000000; echo done" } },
      { name: "write_to_file", input: { path: 42, content: "x" } },
      { name: "execute_command", input: { command: "true", cwd: "../.." } },
      { name: "execute_command", input: { command: "ls -A; test ! -e escaped.txt && echo no-escape" } },
    ];
    // One turn per hostile path (all its calls at once), then one turn per probe.
    results = await agentRun([...HOSTILE_CALLS, ...probes.map((call) => [call])]);
  }, 180_000);

  it("refuses every hostile path in every tool that takes one, with an is_error result naming it, running nothing", () => {
    const pathResults = results.slice(0, HOSTILE_CALL_COUNT);
    expect(pathResults).toHaveLength(HOSTILE_CALL_COUNT);
    for (const result of pathResults) {
      const output = String(result.data.output);
      expect(result.data.ok, `${result.data.name} ${JSON.stringify(result.data.input)}: ${output}`).toBe(false);
      expect(output).toMatch(/^invalid input: (path|cwd): /);
    }
    expect(existsSync("/escape.txt")).toBe(false);
    expect(String(results.at(-1)!.data.output)).toContain("no-escape");
  });

  it("answers search_files outside the project with the refusal, naming the path, before grep runs", () => {
    const search = (path: string) => results.find((r) => r.data.name === "search_files" && (r.data.input as { path: string }).path === path)!;
    expect(search("/etc/passwd").data.output).toBe('invalid input: path: path "/etc/passwd" is absolute; paths are relative to the project root');
    expect(search("-rf").data.output).toBe('invalid input: path: path "-rf" begins with -, which commands would read as an option');
    expect(String(search("../outside.txt").data.output)).toContain("contains a .. segment");
  });

  it("does not follow a symlink out of the project, for reads, writes or edits", () => {
    const [link, readLink, writeThrough, editLink] = results.slice(HOSTILE_CALL_COUNT, HOSTILE_CALL_COUNT + 4);
    expect(link!.data.ok).toBe(true);
    expect(readLink!.data.ok).toBe(false);
    expect(String(readLink!.data.output)).not.toContain("root:x:0:0");
    expect(writeThrough!.data.ok).toBe(false);
    expect(editLink!.data.ok).toBe(false);
    expect(existsSync("/etc/kiln-escape")).toBe(false);
  });

  it("fails a generation with the reason when the sandbox's boundary cannot be built (no bwrap, no slirp4netns)", async () => {
    const strict = await withoutIsolationPrograms(() => startGenerationStack({ env: { KILN_SANDBOX_ISOLATION: "bubblewrap" } }));
    try {
      const projectId = (await strict.api.call("POST", "/projects", { name: "Refused" })).body.id;
      const job = (await strict.api.call("POST", "/generations", { projectId, prompt: "Write outside the project" })).body;
      const done = await waitForGeneration(strict.api, job.id);
      expect(done.status).toBe("failed");
      expect(done.error).toContain("bubblewrap (bwrap) is not installed");
      expect(done.error).toContain("apt-get install -y bubblewrap slirp4netns");
    } finally {
      await strict.close();
    }
  });

  it("contains a command writing outside the project, and shows it no secret", () => {
    const escape = results[HOSTILE_CALL_COUNT + 4]!;
    const output = String(escape.data.output);
    expect(existsSync(canary)).toBe(false);
    expect(existsSync("/root/kiln-escape")).toBe(false);
    expect(existsSync("/etc/kiln-escape")).toBe(false);
    expect(output).not.toContain(SECRET_KEY);
    expect(output).not.toContain("ANTHROPIC_API_KEY");
    expect(output).not.toContain("DATABASE_URL");
  });

  it("kills a command that forks children and runs past its timeout, leaving no survivor", () => {
    const forked = results[HOSTILE_CALL_COUNT + 5]!;
    expect(String(forked.data.output)).toContain("timed out after 1 s");
    const processes = execSync("ps -eo args").toString();
    expect(processes).not.toMatch(/sleep 9[78]/);
  });

  it("caps a 100 MB output flood and keeps working", async () => {
    const flood = results[HOSTILE_CALL_COUNT + 6]!;
    const output = String(flood.data.output);
    expect(output.length).toBeLessThan(200_000);
    expect(output).toMatch(/omitted|dropped/);
    expect(output).toContain("done");
    expect((await fetch(`${kiln.url}/projects/health`)).status).toBe(200);
  });

  it("answers wrong input types and a cwd outside the project with is_error results", () => {
    const [wrongType, badCwd] = results.slice(-3, -1);
    expect(wrongType!.data).toMatchObject({ ok: false, output: "invalid input: path: must be a string" });
    expect(badCwd!.data.ok).toBe(false);
  });

  it("never puts the API key in a response, an event or a log line", async () => {
    const everything = JSON.stringify(results) + kiln.logText() + JSON.stringify(await api.call("GET", "/healthz"));
    expect(everything).not.toContain(SECRET_KEY);
  });
});

describe("text from the model that Postgres cannot store", () => {
  it("ends the job saying what the model said, U+0000 and lone surrogates shown as U+FFFD, and keeps it in the conversation", async () => {
    model.setScript([{ content: [text("Stopping here \u0000 with \ud800 this.")] }]);
    const projectId = (await api.call("POST", "/projects", { name: "Unstorable" })).body.id;
    const job = (await api.call("POST", "/generations", { projectId, prompt: "Say something odd" })).body;
    const done = await waitForGeneration(api, job.id, 60_000);
    expect(done).toMatchObject({ status: "failed", error: "the agent stopped without finishing: Stopping here \ufffd with \ufffd this." });
    const final = (await readEvents(kiln.url, token, job.id)).at(-1)!;
    expect(final).toMatchObject({ event: "failed", data: { error: done.error } });
    const { messages } = (await api.call("GET", `/projects/${projectId}/conversation`)).body as { messages: { role: string; content: string }[] };
    expect(messages.map((m) => [m.role, m.content])).toEqual([
      ["user", "Say something odd"],
      ["assistant", "the agent stopped without finishing: Stopping here \ufffd with \ufffd this."],
    ]);
  }, 90_000);
});

describe("hostile input over HTTP", () => {
  it.each(HOSTILE_PATHS)("refuses vfs path %s with 400 invalid_argument", async (_why, path) => {
    const projectId = (await api.call("POST", "/projects", { name: "Paths" })).body.id;
    const write = await api.call("POST", `/vfs/${projectId}/files`, { files: [{ path, contentBase64: "eA==" }] });
    expect(write.status).toBe(400);
    expect(write.body.code).toBe("invalid_argument");
    // A lone surrogate has no UTF-8 form, so no URL can carry it: only the JSON write is tried.
    if (wellFormed(path) !== path) return;
    const read = await api.call("GET", `/vfs/${projectId}/file?path=${encodeURIComponent(path)}`);
    expect(read.status).toBe(400);
  });

  it.each([
    ["POST", "/projects", "{not json", 400],
    ["POST", "/projects", "[]", 400],
    ["POST", "/projects", '{"name": {"$gt": ""}}', 400],
    ["POST", "/generations", '{"projectId": ["a"], "prompt": 5}', 400],
    ["GET", "/projects?limit=1e309", undefined, 400],
    ["GET", "/projects/%00", undefined, 400],
    ["POST", "/generations", '{"projectId": "prj_x", "prompt": "hi\\u0000there"}', 400],
  ])("answers %s %s %j with a clear %i", async (method, path, body, status) => {
    const response = await fetch(`${kiln.url}${path}`, {
      method,
      body,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    });
    expect(response.status).toBe(status);
    const json = (await response.json()) as { code: string; message: string };
    expect(json.message.length).toBeGreaterThan(5);
  });

  it("stays up and healthy after all of it", async () => {
    expect((await fetch(`${kiln.url}/projects/health`)).status).toBe(200);
  });
});
