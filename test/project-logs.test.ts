import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { text, toolUse, type Turn } from "./fakes/anthropic/server";
import { waitForGeneration } from "./support/generation";
import { client } from "./support/http";
import { startGenerationStack, type GenerationStack } from "./support/stack";
import { waitFor } from "./support/wait-for";

const LEAKED = `kiln_${"x".repeat(43)}`;
// A dev server that prints colour codes, a carriage-return progress line and a credential, as hostile output would.
const SERVER = `const http = require("node:http");
console.log("\\x1b[32mbooting the noisy server\\x1b[0m");
process.stdout.write("step 1\\rstep 2\\n");
console.error("a token I was handed: ${LEAKED}");
http.createServer((req, res) => res.end("<!doctype html><title>noisy</title><h1>noisy</h1>")).listen(Number(process.env.PORT), "0.0.0.0", () => console.log("noisy server ready"));
`;
const noisySession: Turn[] = [
  { content: [text("A server that talks a lot."), toolUse("write_to_file", { path: "server.js", content: SERVER })] },
  { content: [toolUse("attempt_completion", { summary: "A noisy server.", dev_command: "node server.js" })] },
];

/** GET /projects/:id/logs: the end of the dev server's output, owner-only, cleaned of what a page must not show. */
describe("a project's dev server logs over HTTP", () => {
  let stack: GenerationStack;
  let projectId: string;

  beforeAll(async () => {
    stack = await startGenerationStack({ script: noisySession });
    projectId = (await stack.api.call("POST", "/projects", { name: "Noisy", template: "blank" })).body.id;
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
  });

  it("answers empty before the project has a sandbox", async () => {
    const logs = await stack.api.call("GET", `/projects/${projectId}/logs`);
    expect(logs.status).toBe(200);
    expect(logs.body).toEqual({ output: "", truncated: false, running: false, exitCode: null, command: null, workspaceStatus: "none" });
  });

  it("shows what the dev server printed, without escapes or credentials", async () => {
    const job = (await stack.api.call("POST", "/generations", { projectId, prompt: "A noisy server" })).body;
    expect((await waitForGeneration(stack.api, job.id, 120_000)).status).toBe("completed");
    const logs = await waitFor("the server's ready line", async () => {
      const response = await stack.api.call("GET", `/projects/${projectId}/logs`);
      return response.body.output?.includes("noisy server ready") ? response.body : undefined;
    });
    expect(logs).toMatchObject({ running: true, exitCode: null, command: "node server.js", workspaceStatus: "running", truncated: false });
    expect(logs.output).toContain("booting the noisy server\n");
    expect(logs.output).toContain("step 1\nstep 2\n");
    expect(logs.output).toContain("a token I was handed: kiln_[redacted]");
    expect(logs.output).not.toContain(LEAKED);
    expect(logs.output).not.toContain("\x1b");

    // A short tail is whole lines from the end of the same output.
    const tail = await stack.api.call("GET", `/projects/${projectId}/logs?tailBytes=40`);
    expect(tail.body.truncated).toBe(true);
    expect(tail.body.output.length).toBeLessThan(40);
    expect(logs.output.endsWith(`\n${tail.body.output}`)).toBe(true);
  });

  it("refuses a bad amount and another user's project", async () => {
    for (const bad of ["0", "65537", "abc", "1.5"]) {
      const response = await stack.api.call("GET", `/projects/${projectId}/logs?tailBytes=${bad}`);
      expect(response.status, bad).toBe(400);
      expect(response.body.message).toContain("tailBytes");
    }
    const { token } = await stack.kiln.createUser("mallory");
    const other = await client(stack.kiln.url, token).call("GET", `/projects/${projectId}/logs`);
    expect(other.status).toBe(404);
    expect(JSON.stringify(other.body)).not.toContain("noisy");
  });
});
