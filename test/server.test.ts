import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { client } from "./support/http";
import { MISSING_ISOLATION } from "./support/isolation";
import { startTestKiln, type TestKiln } from "./support/kiln";

let kiln: TestKiln;
beforeAll(async () => {
  kiln = await startTestKiln({ MONGODB_URI: undefined, KILN_BODY_LIMIT_BYTES: "4096" });
});
afterAll(async () => {
  await kiln?.close();
});

describe("the standalone server", () => {
  it.each([
    ["/projects/health", "projects"],
    ["/workspaces/health", "workspace"],
    ["/vfs/health", "vfs"],
    ["/generations/health", "ai"],
  ])("serves %s, the first endpoint of %s", async (path, service) => {
    const response = await fetch(`${kiln.url}${path}`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as any;
    expect(body.service).toBe(service);
    expect(body.checks.length).toBeGreaterThan(0);
  });

  it("reports each dependency in /healthz, and 503 when one is down (no MongoDB configured here)", async () => {
    const response = await fetch(`${kiln.url}/healthz`);
    expect(response.status).toBe(503);
    const body = (await response.json()) as any;
    expect(body.status).toBe("down");
    const byName = Object.fromEntries(body.services.map((s: { service: string }) => [s.service, s]));
    expect(byName.projects.status).toBe("ok");
    // Where this machine cannot isolate sandboxes the test server runs them unconfined, and says so.
    if (MISSING_ISOLATION) expect(byName.workspace.checks[1]).toMatchObject({ name: "sandbox:local", status: "warn", detail: expect.stringContaining("UNCONFINED") });
    else expect(byName.workspace.status).toBe("ok");
    expect(byName.vfs.checks[0]).toMatchObject({ name: "mongodb", status: "fail", detail: "MONGODB_URI is not set" });
    // ai reaches vfs through its contract and reports it as its own failing dependency.
    expect(byName.ai.checks.find((c: { name: string }) => c.name === "service:vfs")).toMatchObject({ status: "fail" });
    expect(byName.ai.checks.find((c: { name: string }) => c.name === "postgres")).toMatchObject({ status: "ok" });
  });

  it("holds a real route to KILN_BODY_LIMIT_BYTES (4096 here, read by loadConfig as under npm start)", async () => {
    const { token } = await kiln.createUser("limits");
    const api = client(kiln.url, token);
    // A valid project of about 6 KB (2,000 three-byte characters): accepted under the 2 MiB default.
    const over = await api.call("POST", "/projects", { name: "Over", description: "€".repeat(2000) });
    expect(over.status).toBe(413);
    expect(over.body).toEqual({ code: "resource_exhausted", message: "request body is larger than the limit of 4096 bytes", details: { limitBytes: 4096 } });
    const under = await api.call("POST", "/projects", { name: "Under", description: "x".repeat(2000) });
    expect(under.status).toBe(200);
    expect(under.body).toMatchObject({ name: "Under", description: "x".repeat(2000) });
  });

  it("answers unknown routes with Encore's 404 body", async () => {
    const response = await fetch(`${kiln.url}/no/such/route`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ code: "not_found", message: "endpoint not found", details: null });
  });
});
