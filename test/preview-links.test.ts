import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { HELLO_PAGE_HEADING, helloAppSession } from "./fakes/anthropic/sessions/hello-app";
import { waitForGeneration } from "./support/generation";
import { client } from "./support/http";
import { startDaytonaGenerationStack } from "./support/stack";

const TTL_SECONDS = 60;

/**
 * The dashboard's preview on Daytona: the stored previewUrl is a signed link that dies after its TTL, so
 * the owner asks GET /projects/:id/preview for the link that opens the preview now.
 */
describe("preview links that outlive their TTL (Daytona, through the fake)", () => {
  let stack: Awaited<ReturnType<typeof startDaytonaGenerationStack>>;

  beforeAll(async () => {
    stack = await startDaytonaGenerationStack({ script: helloAppSession, env: { KILN_DAYTONA_PREVIEW_TTL_SECONDS: String(TTL_SECONDS) } });
  }, 60_000);
  afterAll(async () => {
    vi.useRealTimers();
    await stack?.close();
  });

  it("gives the owner a link that opens the preview after the stored one expired, and never a standard token", async () => {
    const responses: string[] = [];
    const api = client(stack.kiln.url, stack.token, responses);
    const projectId = (await api.call("POST", "/projects", { name: "Long-lived preview" })).body.id;
    const done = await waitForGeneration(api, (await api.call("POST", "/generations", { projectId, prompt: "Build a hello page" })).body.id);
    expect(done.status).toBe("completed");

    const first = await api.call("GET", `/projects/${projectId}/preview`);
    expect(first.status).toBe(200);
    expect(Object.keys(first.body).sort()).toEqual(["expiresAt", "url"]);
    expect(first.body.url).toBe(done.previewUrl);
    const expiresIn = Date.parse(first.body.expiresAt) - Date.now();
    expect(expiresIn).toBeGreaterThan(0);
    expect(expiresIn).toBeLessThanOrEqual(TTL_SECONDS * 1000);

    // The clock (Kiln's and the fake's, one process) moves past the TTL; timers keep real time.
    vi.useFakeTimers({ toFake: ["Date"], shouldAdvanceTime: true });
    vi.setSystemTime(Date.now() + (TTL_SECONDS + 1) * 1000);
    const stored = (await api.call("GET", `/projects/${projectId}`)).body.previewUrl;
    expect(stored).toBe(done.previewUrl);
    expect((await fetch(stored)).status).toBe(401);

    const fresh = await api.call("GET", `/projects/${projectId}/preview`);
    expect(fresh.status).toBe(200);
    expect(fresh.body.url).not.toBe(stored);
    expect(Date.parse(fresh.body.expiresAt)).toBeGreaterThan(Date.now());
    const page = await fetch(fresh.body.url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(HELLO_PAGE_HEADING);
    // Asked again with most of its TTL left, the same link (each call would otherwise mint one).
    expect((await api.call("GET", `/projects/${projectId}/preview`)).body).toEqual(fresh.body);
    vi.useRealTimers();

    const everything = responses.join("\n");
    const { daytona } = stack;
    expect(daytona.standardTokens().length).toBeGreaterThan(0);
    for (const secret of [...daytona.standardTokens(), daytona.apiKey]) expect(everything.includes(secret), `a secret of ${secret.length} characters leaked`).toBe(false);
  });

  it("answers another user with 404, as every owner-only endpoint does", async () => {
    const projectId = (await stack.api.call("POST", "/projects", { name: "Not yours" })).body.id;
    const done = await waitForGeneration(stack.api, (await stack.api.call("POST", "/generations", { projectId, prompt: "Build a hello page" })).body.id);
    expect(done.status).toBe("completed");
    const other = client(stack.kiln.url, (await stack.kiln.createUser("someone else")).token);
    const answer = await other.call("GET", `/projects/${projectId}/preview`);
    expect(answer.status).toBe(404);
    expect(answer.body).toEqual({ code: "not_found", message: `project "${projectId}" not found`, details: null });
  });
});
