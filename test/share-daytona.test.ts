import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { ProjectsApi } from "../projects/contract";
import type { WorkspaceApi } from "../workspace/contract";
import { client, type TestClient } from "./support/http";
import { firstFrame, projectRunningShareApp } from "./support/share-app";
import { startDaytonaGenerationStack } from "./support/stack";

const TTL_SECONDS = 60;

/**
 * A share link on Daytona (through the fake, as real Daytona behaves): the gateway reaches the sandbox's
 * private preview through a signed preview link it asks for itself, so the visitor never sees a
 * Daytona address or token (the standard preview token also opens the toolbox), and when that signed
 * link expires the gateway takes a new one: the link keeps working. Revoking a share link revokes the
 * signed links the gateway used (an app that echoes its Host shows one to the visitor), not the owner's.
 */
describe("a share link on Daytona", () => {
  let stack: Awaited<ReturnType<typeof startDaytonaGenerationStack>>;
  let alice: TestClient;
  let workspace: WorkspaceApi;
  let projectId: string;
  let token: string;
  /** Everything a visitor got through the gateway (the owner's API answers are the owner's: not in it). */
  const seen: string[] = [];

  beforeAll(async () => {
    stack = await startDaytonaGenerationStack({ env: { KILN_DAYTONA_PREVIEW_TTL_SECONDS: String(TTL_SECONDS) } });
    const user = await stack.kiln.createUser("alice");
    alice = client(stack.kiln.url, user.token);
    const impl = <T>(name: string) => stack.kiln.kiln.services.find((s) => s.name === name)!.impl as T;
    workspace = impl<WorkspaceApi>("workspace");
    projectId = await projectRunningShareApp(impl<ProjectsApi>("projects"), workspace, { userID: user.userID }, "Daytona App");
    token = (await alice.call("POST", `/projects/${projectId}/shares`, {})).body.token;
  }, 120_000);
  afterAll(async () => {
    vi.useRealTimers();
    await stack?.close();
  });

  /** A visit through the gateway: what the visitor gets, kept to look for secrets in. */
  async function visit(path: string, init?: RequestInit): Promise<{ status: number; text: string }> {
    const response = await fetch(`${stack.kiln.url}/s/${token}/${path}`, init);
    const text = await response.text();
    seen.push(JSON.stringify([...response.headers]), text);
    return { status: response.status, text };
  }

  it("serves the sandbox's private preview and its hot-reload socket, no Daytona credential reaching the visitor or the app", async () => {
    const page = await visit("");
    expect(page.status).toBe(200);
    expect(page.text).toContain("<h1>Daytona App</h1>");
    expect(page.text).toContain(`src="/s/${token}/src/main.js"`);
    expect(await firstFrame(stack.kiln.url, `/s/${token}/?token=vite`)).toEqual({ status: 101, message: "hmr Daytona App /?token=vite" });
    // The echo is the app's own answer, kept out of `seen`: it prints the Host it was reached at.
    const response = await fetch(`${stack.kiln.url}/s/${token}/echo`, { method: "POST", body: "hi" });
    const echo = JSON.parse(await response.text());
    expect(echo).toMatchObject({ name: "Daytona App", method: "POST", body: "hi" });
    expect(echo.headers["x-daytona-preview-token"]).toBeUndefined();

    // The signed link the gateway used (its own, not the owner's), and every standard token the fake issued, stay on the server.
    const ws = (await workspace.get({ id: (await alice.call("GET", `/projects/${projectId}`)).body.workspaceId }))!;
    const signed = new URL((await workspace.preview({ id: ws.id, audience: "share" })).url);
    const owners = new URL((await workspace.preview({ id: ws.id })).url);
    expect(owners.host).not.toBe(signed.host);
    // (The fake's preview addresses are 127.0.0.1 with a port of their own per link, as Kiln's is: its host and port is the secret.)
    const secrets = [signed.host, owners.host, ...stack.daytona.standardTokens(), stack.daytona.apiKey];
    expect(stack.daytona.standardTokens().length).toBeGreaterThan(0);
    for (const text of seen) for (const secret of secrets) expect(text.includes(secret), `a secret of ${secret.length} characters reached the visitor`).toBe(false);
    // The app is reached at the signed link's host (Daytona's proxy routes by it), so an app that prints
    // its Host header shows the gateway's signed link, which opens this preview alone until the share
    // link's revoke (below) or its TTL; no token that opens more reaches it.
    expect(echo.headers.host).toBe(signed.host);
    for (const secret of [...stack.daytona.standardTokens(), stack.daytona.apiKey]) expect(JSON.stringify(echo)).not.toContain(secret);
  });

  it("keeps working once the signed preview link it held has expired", async () => {
    const ws = (await alice.call("GET", `/projects/${projectId}`)).body.workspaceId;
    const before = (await workspace.preview({ id: ws, audience: "share" })).url;
    // The clock (Kiln's and the fake's, one process) moves past the signed link's TTL; timers keep real time.
    vi.useFakeTimers({ toFake: ["Date"], shouldAdvanceTime: true });
    vi.setSystemTime(Date.now() + (TTL_SECONDS + 1) * 1000);
    try {
      expect((await fetch(before)).status).toBe(401);
      const page = await visit("");
      expect(page.status).toBe(200);
      expect(page.text).toContain("<h1>Daytona App</h1>");
      expect((await workspace.preview({ id: ws, audience: "share" })).url).not.toBe(before);
    } finally {
      vi.useRealTimers();
    }
  });

  /** The signed preview address the app was reached at through share link `shareToken` (an app that echoes its Host shows it to the visitor). */
  async function signedHostSeenThrough(shareToken: string): Promise<string> {
    const response = await fetch(`${stack.kiln.url}/s/${shareToken}/echo`, { method: "POST", body: "who am I" });
    expect(response.status).toBe(200);
    return `http://${JSON.parse(await response.text()).headers.host}/`;
  }

  it("revokes, with the share link, the signed preview link a visitor read through it; the owner's preview stays open", async () => {
    const shared = (await alice.call("POST", `/projects/${projectId}/shares`, {})).body;
    const bypass = await signedHostSeenThrough(shared.token);
    // What the visitor read opens the app directly, without the share link: until the revoke.
    expect(await (await fetch(bypass)).text()).toContain("<h1>Daytona App</h1>");
    const owner = (await alice.call("GET", `/projects/${projectId}/preview`)).body.url;
    expect(new URL(owner).host).not.toBe(new URL(bypass).host);

    expect((await alice.call("DELETE", `/projects/${projectId}/shares/${shared.link.id}`)).status).toBe(200);
    expect((await fetch(`${stack.kiln.url}/s/${shared.token}/`)).status).toBe(404);
    const direct = await fetch(bypass);
    expect([401, 404]).toContain(direct.status);
    expect(await direct.text()).not.toContain("Daytona App");

    // The owner's frame keeps its link, and the preview the dashboard asks for opens the app.
    expect(await (await fetch(owner)).text()).toContain("<h1>Daytona App</h1>");
    const fresh = (await alice.call("GET", `/projects/${projectId}/preview`)).body.url;
    expect(await (await fetch(fresh)).text()).toContain("<h1>Daytona App</h1>");
    // The project's other share link still serves, through a signed link of its own that is new.
    const page = await visit("");
    expect(page.status).toBe(200);
    expect(page.text).toContain("<h1>Daytona App</h1>");
    expect(await signedHostSeenThrough(token)).not.toBe(bypass);
  });

  it("revokes the share link even when Daytona fails to revoke its signed link, and revokes that at the next try", async () => {
    const shared = (await alice.call("POST", `/projects/${projectId}/shares`, {})).body;
    const bypass = await signedHostSeenThrough(shared.token);
    stack.daytona.faults.failNextExpires(1);
    expect((await alice.call("DELETE", `/projects/${projectId}/shares/${shared.link.id}`)).status).toBe(200);
    expect((await fetch(`${stack.kiln.url}/s/${shared.token}/`)).status).toBe(404);
    // Daytona kept it valid; the gateway takes a new one for the project's other link, and on the way revokes it again.
    expect(await (await fetch(bypass)).text()).toContain("<h1>Daytona App</h1>");
    expect(await signedHostSeenThrough(token)).not.toBe(bypass);
    expect([401, 404]).toContain((await fetch(bypass)).status);
  });
});
