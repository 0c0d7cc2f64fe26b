import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Route } from "../lib/routes";
import { CONTRACT_ROUTES } from "../server/contracts";
import { text } from "./fakes/anthropic/server";
import { startGenerationStack, type GenerationStack } from "./support/stack";

/**
 * The property the hostile tests name one case at a time, over every exposed route: whatever a
 * signed-in caller sends — wrong types, operators, nulls, huge strings, nested junk, broken JSON — the
 * answer is never a 5xx, and always Encore's error shape with a message. A 500 here is a handler
 * trusting its input.
 */

/** Values of every wrong kind, for any field. */
const JUNK: unknown[] = [null, -1, 1e308, 3.5, true, "", "x".repeat(100_000), "\u0000", "../../etc/passwd", [], ["a", 1], {}, { $gt: "" }, { constructor: { prototype: { admin: true } } }];

/** Field names the contracts use (a body with each set to junk reaches each handler's validation). */
const FIELDS = [
  "id", "projectId", "name", "description", "prompt", "template", "files", "path", "paths", "from", "to", "content",
  "contentBase64", "command", "cwd", "timeoutMs", "background", "processId", "cursor", "limit", "versionId", "against",
  "expiresInSeconds", "url", "token", "branch", "message", "mode", "approvalMode", "decision", "reason", "always",
  "cols", "rows", "terminalId", "recursive", "prefix", "status", "sort", "purge", "label", "expiresAt", "workspaceId",
];

interface Answer {
  route: string;
  sent: string;
  status: number;
  body: unknown;
}

let stack: GenerationStack;

beforeAll(async () => {
  // No spare workspaces and one job at a time: the junk that does create projects or start generations stays cheap for the tests beside this one.
  stack = await startGenerationStack({ script: [{ content: [text("Nothing to do.")] }], env: { KILN_WARM_POOL: "0", KILN_RUNNER_CONCURRENCY: "1" } });
}, 60_000);
afterAll(async () => {
  await stack?.close();
});

/** The route's path with its parameters filled: the caller's own project for a project id, junk otherwise. */
function pathFor(route: Route, projectId: string, junk: string): string {
  return route.path
    .replace(/:(\w+)/g, (_m, name: string) => (name === "id" || name === "projectId" ? projectId : encodeURIComponent(junk)))
    .replace(/\*\w+/, encodeURIComponent(junk));
}

async function send(route: string, method: string, path: string, body: string | undefined, sent: string): Promise<Answer> {
  const response = await fetch(`${stack.kiln.url}${path}`, {
    method,
    body,
    headers: { authorization: `Bearer ${stack.token}`, "content-type": "application/json" },
    signal: AbortSignal.timeout(20_000),
  });
  const type = response.headers.get("content-type") ?? "";
  // A stream or a file that opened is an answer too; only its status matters here.
  const parsed = type.includes("application/json") ? await response.json().catch(() => "unparsable JSON") : await response.body?.cancel().then(() => type);
  return { route, sent, status: response.status, body: parsed };
}

/** Every way this route is called with junk: each field set to each junk value, and bodies that are not objects. */
async function fuzz(name: string, route: Route, projectId: string): Promise<Answer[]> {
  const method = route.method === "*" ? "GET" : route.method;
  const answers: Answer[] = [];
  for (const junk of ["x", "prj_missing", "%", "a".repeat(100), ".."]) answers.push(await send(name, method, pathFor(route, projectId, junk), method === "GET" || method === "DELETE" ? undefined : "{}", `path ${junk.slice(0, 20)}`));
  const path = pathFor(route, projectId, "x");
  if (method === "GET" || method === "DELETE") {
    for (const field of [...Object.keys(route.fields ?? {}), "limit", "cursor"]) {
      for (const junk of ["", "abc", "-1", "1e309", "0x10", "%00", "x".repeat(10_000), "[]"]) {
        answers.push(await send(name, method, `${path}?${field}=${encodeURIComponent(junk)}&${field}=${encodeURIComponent(junk)}`, undefined, `${field}=${junk.slice(0, 20)}`));
      }
    }
    return answers;
  }
  for (const raw of ["{", "[]", "null", '"s"', "1", '{"a":'.repeat(2000), "\u0000"]) answers.push(await send(name, method, path, raw, `body ${raw.slice(0, 20)}`));
  for (const junk of JUNK) {
    const body = Object.fromEntries(FIELDS.map((field) => [field, junk]));
    answers.push(await send(name, method, path, JSON.stringify(body), `every field = ${JSON.stringify(junk)?.slice(0, 20)}`));
  }
  // One field wrong at a time, so a check that stops at the first bad field does not hide the next one's handling.
  for (const field of FIELDS) {
    for (const junk of JUNK.slice(-4)) answers.push(await send(name, method, path, JSON.stringify({ [field]: junk }), `${field} = ${JSON.stringify(junk)?.slice(0, 20)}`));
  }
  return answers;
}

const exposed = Object.entries(CONTRACT_ROUTES).flatMap(([service, routes]) =>
  Object.entries(routes as Record<string, Route>)
    .filter(([, route]) => route.expose)
    .map(([name, route]) => [`${service}.${name} ${route.method} ${route.path}`, route] as const),
);

describe("every exposed route, sent junk by a signed-in caller", () => {
  it.each(exposed)("%s never answers 5xx, and errors are Encore's shape", async (name, route) => {
    const projectId = (await stack.api.call("POST", "/projects", { name: "Fuzzed" })).body.id as string;
    const answers = await fuzz(name, route, projectId);
    const serverErrors = answers.filter((a) => a.status >= 500);
    expect(serverErrors.slice(0, 5)).toEqual([]);
    for (const answer of answers.filter((a) => a.status >= 400 && typeof a.body === "object" && a.body !== null)) {
      expect(answer.body, `${answer.sent} → ${answer.status}`).toMatchObject({ code: expect.any(String), message: expect.stringMatching(/\S{3}/) });
    }
  }, 300_000);

  it("never answers another user's project or generation with anything but 404, on any route that names one", async () => {
    const projectId = (await stack.api.call("POST", "/projects", { name: "Private" })).body.id as string;
    const jobId = (await stack.api.call("POST", "/generations", { projectId, prompt: "make it" })).body.id as string;
    const { token: otherToken } = await stack.kiln.createUser("intruder");
    const named = exposed.filter(([, route]) => route.auth && /:(id|projectId)\b/.test(route.path) && !route.path.startsWith("/projects/tokens"));
    expect(named.length).toBeGreaterThan(20);
    const answers: string[] = [];
    for (const [name, route] of named) {
      const owned = route.path.startsWith("/generations") ? jobId : projectId;
      const path = route.path.replace(/:(\w+)/g, (_m, param: string) => (param === "id" || param === "projectId" ? owned : "x")).replace(/\*\w+/, "x");
      const method = route.method === "*" ? "GET" : route.method;
      const response = await fetch(`${stack.kiln.url}${path}`, {
        method,
        body: method === "GET" || method === "DELETE" ? undefined : "{}",
        headers: { authorization: `Bearer ${otherToken}`, "content-type": "application/json" },
        signal: AbortSignal.timeout(20_000),
      });
      await response.body?.cancel();
      answers.push(`${name} → ${response.status}`);
    }
    expect(answers.filter((answer) => !answer.endsWith("→ 404"))).toEqual([]);
    // The owner's project is untouched by all of it.
    expect((await stack.api.call("GET", `/projects/${projectId}`)).status).toBe(200);
  });

  it("leaves the server healthy", async () => {
    expect((await fetch(`${stack.kiln.url}/healthz`)).status).toBe(200);
  });
});
