import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ScriptFunction } from "./fakes/anthropic/script";
import { lastToolResults, toolUse } from "./fakes/anthropic/script";
import { FAULTS, selfCheckSession } from "./fakes/anthropic/sessions/self-check";
import { sessionPosition } from "./fakes/anthropic/sessions/hello-app";
import { readEvents, waitForGeneration } from "./support/generation";
import { startGenerationStack, type GenerationStack } from "./support/stack";

/** The prompt names the fault ("fault typeError") and whether the model fixes it ("never fixes"). */
const script: ScriptFunction = (request, ctx) => {
  const { prompt } = sessionPosition(request);
  if (prompt.includes("repeats a failing command")) return { content: [toolUse("execute_command", { command: "npm run buld" })] };
  const fault = FAULTS[/fault (\w+)/.exec(prompt)?.[1] ?? ""];
  if (!fault) throw new Error(`no fault named in ${JSON.stringify(prompt)}`);
  return selfCheckSession(fault, { fixes: !prompt.includes("never fixes") })(request, ctx);
};

let stack: GenerationStack;
beforeAll(async () => {
  stack = await startGenerationStack({ script, env: { KILN_BROWSER_CHECK_TIMEOUT_MS: "15000" } });
}, 60_000);
afterAll(async () => {
  await stack?.close();
});

/** Runs one generation on a new project of `template`; returns the job, its events and the model's requests. */
async function generate(template: string, prompt: string) {
  const project = (await stack.api.call("POST", "/projects", { name: prompt.slice(0, 40), template })).body;
  const before = stack.model.requests.length;
  const job = (await stack.api.call("POST", "/generations", { projectId: project.id, prompt })).body;
  const final = await waitForGeneration(stack.api, job.id, 240_000);
  const events = await readEvents(stack.kiln.url, stack.token, job.id);
  return { project, final, events, requests: stack.model.requests.slice(before) };
}

/** The passing check's screenshot is the project's thumbnail: a 1280×800 PNG for its owner, cached by ETag. */
async function expectThumbnail(projectId: string, events: { event: string; data: any }[]): Promise<void> {
  const announced = events.find((e) => e.event === "thumbnail");
  expect(announced?.data.url).toBe(`/projects/${projectId}/thumbnail`);
  const project = (await stack.api.call("GET", `/projects/${projectId}`)).body;
  expect(project.thumbnailUrl).toBe(`/projects/${projectId}/thumbnail?v=${announced!.data.sha256.slice(0, 16)}`);
  const url = `${stack.kiln.url}/projects/${projectId}/thumbnail`;
  const response = await fetch(url, { headers: { authorization: `Bearer ${stack.token}` } });
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toBe("image/png");
  expect(response.headers.get("etag")).toBe(`"${announced!.data.sha256}"`);
  expect(response.headers.get("cache-control")).toBe("private, no-cache");
  const png = Buffer.from(await response.arrayBuffer());
  expect([png.subarray(1, 4).toString(), png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual(["PNG", 1280, 800]);
  const again = await fetch(url, { headers: { authorization: `Bearer ${stack.token}`, "if-none-match": response.headers.get("etag")! } });
  expect(again.status).toBe(304);
  const stranger = await stack.kiln.createUser(`stranger-${projectId}`);
  const refused = await fetch(url, { headers: { authorization: `Bearer ${stranger.token}` } });
  expect(refused.status).toBe(404);
  expect((await fetch(url)).status).toBe(401);
}

describe("the self-check gate, over HTTP with a real template, sandbox and browser", () => {
  it.each(Object.keys(FAULTS).filter((name) => name !== "devServerCrash"))(
    "catches %s, tells the model where, and completes after the fix",
    async (name) => {
      const { final, events, requests, project } = await generate("vite-react", `A weekend task list (fault ${name})`);
      expect(final.status, final.error ?? "").toBe("completed");
      // The refused completion's report is what the model read in its next request.
      const report = lastToolResults(requests[2]!)[0]!;
      expect(report.isError).toBe(true);
      expect(report.text).toMatch(/^not complete: Checks failed: /);
      expect(report.text).toMatch(FAULTS[name]!.reported);
      expect(report.text).toContain("Hint: ");
      // The checks are in the job's stream: each started and finished, the failed one with its errors.
      const finished = events.filter((e) => e.event === "check_finished").map((e) => e.data);
      expect(finished.some((c) => !c.ok && (c.errors as unknown[]).length > 0)).toBe(true);
      const lastRound = finished.slice(-4);
      expect(lastRound.map((c) => c.kind)).toEqual(["typecheck", "build", "dev_server", "browser"]);
      expect(lastRound.every((c) => c.ok)).toBe(true);
      expect(events.filter((e) => e.event === "check_started")).toHaveLength(finished.length);
      await expectThumbnail(project.id, events);
    },
    300_000,
  );

  it("catches a dev server that crashes, with its own words from the log", async () => {
    const { final, requests, events, project } = await generate("blank", "A weekend task list (fault devServerCrash)");
    expect(final.status, final.error ?? "").toBe("completed");
    expect(lastToolResults(requests[2]!)[0]!.text).toMatch(FAULTS.devServerCrash!.reported);
    await expectThumbnail(project.id, events);
  }, 120_000);

  it("ends a run that never fixes its app as failed, with the report as the reason — never completed", async () => {
    const { final, requests, project } = await generate("vite-react", "A weekend task list (fault typeError, never fixes)");
    expect(final.status).toBe("failed");
    expect(final.error).toMatch(/^the app still has errors: typecheck: src\/App\.tsx:2:9 TS2322: Type 'string' is not assignable to type 'number'/);
    // Three refused completions, the second and third called out as the same failure.
    const results = requests.slice(2).map((r) => lastToolResults(r)[0]!.text);
    expect(results).toHaveLength(2);
    expect(results[1]).toContain("This is the same failure as your previous attempt");
    expect((await stack.api.call("GET", `/projects/${project.id}`)).body.status).toBe("failed");
    // No thumbnail of a broken app.
    expect((await stack.api.call("GET", `/projects/${project.id}/thumbnail`)).status).toBe(404);
    expect((await stack.api.call("GET", `/projects/${project.id}`)).body.thumbnailUrl).toBeNull();
  }, 300_000);

  it("stops a run that repeats a failing command, saying what was repeated, with the guard's steps as events", async () => {
    const { final, events, requests } = await generate("blank", "A model that repeats a failing command");
    expect(final.status).toBe("failed");
    expect(final.error).toBe("stopped: execute_command (npm run buld) failed the same way 5 times in a row");
    const guard = events.filter((e) => e.event === "loop_guard").map((e) => `${e.data.action} ${e.data.repeats}`);
    expect(guard).toEqual(["warn 3", "warn 4", "stop 5"]);
    expect(requests).toHaveLength(5);
    expect(lastToolResults(requests[3]!)[0]!.text).toContain("this exact call has now failed the same way 3 times");
  }, 120_000);
});
