import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HELLO_PAGE_HEADING, helloAppSession } from "../../test/fakes/anthropic/sessions/hello-app";
import { readEvents, waitForGeneration } from "../../test/support/generation";
import { client } from "../../test/support/http";
import { startDaytonaGenerationStack } from "../../test/support/stack";
import type { WorkspaceApi } from "../contract";

/**
 * A whole generation on Daytona (through the fake, as real Daytona behaves): the preview a browser gets
 * opens without any header, and no standard preview token (it opens the toolbox too) nor the API key
 * appears in any API response, event or log line.
 */
describe("Daytona secrets stay on the server through a whole generation", () => {
  let stack: Awaited<ReturnType<typeof startDaytonaGenerationStack>>;

  beforeAll(async () => {
    stack = await startDaytonaGenerationStack({ script: helloAppSession });
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
  });

  it("opens the preview through a signed URL and never shows the standard token or the API key", async () => {
    const { daytona } = stack;
    const responses: string[] = [];
    const api = client(stack.kiln.url, stack.token, responses);
    const projectId = (await api.call("POST", "/projects", { name: "Secret keeper" })).body.id;
    const jobId = (await api.call("POST", "/generations", { projectId, prompt: "Build a hello page" })).body.id;
    const done = await waitForGeneration(api, jobId);
    expect(done).toMatchObject({ status: "completed" });

    const page = await fetch(done.previewUrl);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(HELLO_PAGE_HEADING);
    expect(daytona.requests.some((request) => request.path.endsWith("/signed-preview-url"))).toBe(true);

    await api.call("GET", `/projects/${projectId}`);
    await api.call("GET", `/generations/${jobId}`);
    await api.call("GET", `/projects/${projectId}/conversation`);
    const events = JSON.stringify(await readEvents(stack.kiln.url, stack.token, jobId));
    const workspace = stack.kiln.kiln.services.find((service) => service.name === "workspace")!.impl as WorkspaceApi;
    const server = await workspace.ensureDevServer({ id: done.workspaceId, command: "node server.js" });
    expect(server).toMatchObject({ ok: true, previewToken: null });
    const preview = await workspace.preview({ id: done.workspaceId });
    expect(preview).toMatchObject({ token: null, expiresAt: expect.any(String) });
    const internal = JSON.stringify([server, preview, await workspace.get({ id: done.workspaceId })]);

    const everything = [...responses, events, internal, stack.kiln.logText()].join("\n");
    const secrets = [...daytona.standardTokens(), daytona.apiKey];
    expect(daytona.standardTokens().length).toBeGreaterThan(0);
    for (const secret of secrets) expect(everything.includes(secret), `a secret of ${secret.length} characters leaked`).toBe(false);
  });
});
