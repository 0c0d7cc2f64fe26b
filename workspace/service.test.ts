import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTestDatabase, type TestDatabase } from "../test/support/database";
import { memoryLogger } from "../test/support/kiln";
import type { Workspace } from "./contract";
import { scriptedSessionIsolation, searchableTempDir } from "../test/support/isolation";
import { reservePorts } from "../test/support/ports";
import { createLocalProvider } from "./sandbox/local";
import type { SandboxProvider } from "./sandbox/provider";
import { createWorkspaceService } from "./service";

const { log } = memoryLogger("warn");
const [firstPort] = await reservePorts(20);
let database: TestDatabase;
let provider: SandboxProvider;
let root: string;
let service: ReturnType<typeof createWorkspaceService>;

beforeAll(async () => {
  database = await openTestDatabase("workspace");
  root = await searchableTempDir("kiln-workspace-");
  provider = await createLocalProvider({ root, portRange: [firstPort, firstPort + 19], log, isolation: scriptedSessionIsolation("the workspace service tests") });
  service = createWorkspaceService({ db: database.pool, provider, portRange: [firstPort, firstPort + 14], log });
});
afterAll(async () => {
  await service?.close();
  await database?.close();
  await rm(root, { recursive: true, force: true });
});

async function running(id: string, workspaces: Pick<typeof service, "get"> = service): Promise<Workspace> {
  for (let i = 0; i < 1500; i++) {
    const ws = await workspaces.get({ id });
    if (ws.status !== "creating") return ws;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`workspace ${id} never left creating`);
}

const b64 = (text: string) => Buffer.from(text).toString("base64");

describe("the workspace service on the local provider", () => {
  it("returns at once with status creating, then runs; each workspace gets its own dev port", async () => {
    const created = await Promise.all(Array.from({ length: 8 }, (_, i) => service.create({ projectId: `prj_${i}` })));
    expect(created.every((w) => w.status === "creating")).toBe(true);
    expect(new Set(created.map((w) => w.devPort)).size).toBe(8);
    for (const w of created) expect((await running(w.id)).status).toBe("running");
  });

  it("refuses a new workspace when every preview port is taken, saying what to do", async () => {
    const more = await Promise.allSettled(Array.from({ length: 8 }, () => service.create({ projectId: "prj_full" })));
    const refused = more.filter((r) => r.status === "rejected").map((r) => (r as PromiseRejectedResult).reason);
    expect(refused.length).toBe(1);
    expect(refused[0]).toMatchObject({ code: "resource_exhausted", message: `every preview port from ${firstPort} to ${firstPort + 14} is in use; delete idle workspaces or widen KILN_PREVIEW_PORTS` });
    for (const r of more) if (r.status === "fulfilled") await service.del({ id: r.value.id });
  });

  it("writes, lists with hashes, reads back and runs commands with PORT set to its dev port", async () => {
    const ws = await running((await service.create({ projectId: "prj_files" })).id);
    await service.writeFiles({ id: ws.id, files: [{ path: "a/b.txt", contentBase64: b64("hello") }, { path: "bin.dat", contentBase64: Buffer.from([0, 255, 1]).toString("base64") }] });
    const listed = await service.listFiles({ id: ws.id, hashes: true });
    expect(listed.files.find((f) => f.path === "a/b.txt")).toMatchObject({ size: 5, sha256: "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824" });
    const read = await service.readFiles({ id: ws.id, paths: ["bin.dat", "missing.txt"] });
    expect(read.files).toEqual([{ path: "bin.dat", contentBase64: Buffer.from([0, 255, 1]).toString("base64") }, { path: "missing.txt", error: "not_found" }]);
    const exec = await service.exec({ id: ws.id, command: 'echo "port=$PORT"; echo oops >&2; exit 3' });
    expect(exec).toMatchObject({ exitCode: 3, stdout: `port=${ws.devPort}\n`, stderr: "oops\n", timedOut: false });
    await expect(service.writeFiles({ id: ws.id, files: [{ path: "../escape.txt", contentBase64: b64("x") }] })).rejects.toMatchObject({ code: "invalid_argument" });
    await expect(service.exec({ id: ws.id, command: "true", env: { "BAD-NAME": "x" } })).rejects.toMatchObject({ code: "invalid_argument", message: 'env: "BAD-NAME" is not a variable name' });
  });

  it("brings a dev server up and probes it, or says why not with the log tail", async () => {
    const ws = await running((await service.create({ projectId: "prj_dev" })).id);
    await service.writeFiles({
      id: ws.id,
      files: [{ path: "server.js", contentBase64: b64('require("node:http").createServer((q, s) => s.end("up")).listen(Number(process.env.PORT), "0.0.0.0");') }],
    });
    const up = await service.ensureDevServer({ id: ws.id, command: "node server.js", probeTimeoutMs: 10_000 });
    expect(up).toMatchObject({ ok: true, previewUrl: `http://127.0.0.1:${ws.devPort}`, problem: null });
    expect(await (await fetch(up.previewUrl!)).text()).toBe("up");
    const again = await service.ensureDevServer({ id: ws.id, command: "node server.js" });
    expect(again.processId).toBe(up.processId);

    await service.writeFiles({ id: ws.id, files: [{ path: "broken.js", contentBase64: b64('console.error("Error: Cannot find module vite"); process.exit(1);') }] });
    const down = await service.ensureDevServer({ id: ws.id, command: "node broken.js", probeTimeoutMs: 5000 });
    expect(down.ok).toBe(false);
    expect(down.problem).toContain("the dev server exited before answering");
    expect(down.logTail).toContain("Cannot find module vite");
  });

  it("kills a command cancelled while it runs, and one whose cancel arrived before it started", async () => {
    const ws = await running((await service.create({ projectId: "prj_cancel" })).id);
    const long = service.exec({ id: ws.id, command: "sleep 30", execId: "exe_running" });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await service.cancelExec({ id: ws.id, execId: "exe_running" })).toEqual({ cancelled: true });
    expect(await long).toMatchObject({ cancelled: true, exitCode: null });

    expect(await service.cancelExec({ id: ws.id, execId: "exe_later" })).toEqual({ cancelled: false });
    const started = Date.now();
    const late = await service.exec({ id: ws.id, command: "sleep 30", execId: "exe_later" });
    expect(late.cancelled).toBe(true);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("stops and starts, and refuses file work while stopped", async () => {
    const ws = await running((await service.create({ projectId: "prj_stop" })).id);
    expect((await service.stop({ id: ws.id })).status).toBe("stopped");
    await expect(service.exec({ id: ws.id, command: "true" })).rejects.toMatchObject({ code: "failed_precondition", message: `workspace ${ws.id} is stopped, not running` });
    expect((await service.start({ id: ws.id })).status).toBe("running");
  });

  it("reconciles: deletes an orphan sandbox and marks a workspace whose sandbox is gone", async () => {
    const orphan = await provider.create({ workspaceId: "wsp_orphan", projectId: "prj_orphan" });
    const ws = await running((await service.create({ projectId: "prj_lost" })).id);
    await provider.delete(ws.providerSandboxId!);
    const report = await service.reconcile({});
    expect(report.deletedOrphans).toContain(orphan.id);
    expect(report.markedGone).toContain(ws.id);
    expect((await provider.get(orphan.id)).state).toBe("gone");
    expect((await service.get({ id: ws.id })).status).toBe("deleted");
  });

  it("deletes a workspace whose sandbox is already gone", async () => {
    const ws = await running((await service.create({ projectId: "prj_gone" })).id);
    await provider.delete(ws.providerSandboxId!);
    await service.del({ id: ws.id });
    expect(await service.get({ id: ws.id })).toMatchObject({ status: "deleted", lastError: null });
  });

  it("answers unknown workspaces with not_found", async () => {
    await expect(service.get({ id: "wsp_nope" })).rejects.toMatchObject({ code: "not_found", message: 'workspace "wsp_nope" not found' });
    await expect(service.revokePreviewLinks({ id: "wsp_nope", audience: "share" })).rejects.toMatchObject({ code: "not_found" });
  });

  it("revokes preview links of a named audience only, and has none on a workspace whose sandbox is gone", async () => {
    const ws = await running((await service.create({ projectId: "prj_revoke" })).id);
    const bad = { code: "invalid_argument", details: { field: "audience" } };
    await expect(service.revokePreviewLinks({ id: ws.id, audience: "everyone" as never })).rejects.toMatchObject(bad);
    await expect(service.revokePreviewLinks({ id: ws.id } as never)).rejects.toMatchObject(bad);
    await expect(service.preview({ id: ws.id, audience: "visitors" as never })).rejects.toMatchObject(bad);
    expect(await service.revokePreviewLinks({ id: ws.id, audience: "share" })).toEqual({ revoked: 0, pending: 0 });
    await provider.delete(ws.providerSandboxId!);
    expect(await service.revokePreviewLinks({ id: ws.id, audience: "share" })).toEqual({ revoked: 0, pending: 0 });
  });
});

describe("a template's workspace", () => {
  /** The service over a provider whose processes take 300 ms to start, and the commands it was asked to start. */
  function slowStarts() {
    const started: string[] = [];
    const slow: SandboxProvider = Object.create(provider);
    slow.startProcess = async (id, req) => {
      started.push(req.command);
      await new Promise((resolve) => setTimeout(resolve, 300));
      return provider.startProcess(id, req);
    };
    return { started, templated: createWorkspaceService({ db: database.pool, provider: slow, portRange: [firstPort + 15, firstPort + 19], log }) };
  }

  it("starts its dev server once, as package.json's script without npm, even when a generation looks at it while it is made", async () => {
    const { started, templated } = slowStarts();
    const { id } = await templated.create({ projectId: "prj_tpl_dev", template: "static" });
    // What a generation does: look until it runs, then ask for the dev server at once.
    while ((await templated.get({ id })).status === "creating") await new Promise((resolve) => setTimeout(resolve, 5));
    const dev = await templated.ensureDevServer({ id, command: "npm run dev", probeTimeoutMs: 20_000 });
    expect(dev).toMatchObject({ ok: true, problem: null });
    expect(await (await fetch(dev.previewUrl!)).text()).toContain("Your site starts here");
    expect(started).toEqual([`PATH="$PWD/node_modules/.bin:$PATH" npm_lifecycle_event='dev' exec sh -c 'node server.mjs'`]);
    // npm would have printed its banner ("> app@0.0.0 dev / > node server.mjs") first.
    expect((await templated.processLogs({ id, processId: dev.processId! })).output).not.toContain("> node server.mjs");
    await templated.del({ id });
  });

  it("comes back with the template's files when re-created, its dev server left for after the project's own files", async () => {
    const { started, templated } = slowStarts();
    const { id } = await templated.create({ projectId: "prj_tpl_again", template: "static", restoring: true });
    const ws = await running(id, templated);
    expect(ws.status).toBe("running");
    const files = (await templated.listFiles({ id })).files.map((f) => f.path);
    expect(files).toEqual(expect.arrayContaining(["index.html", "server.mjs", "package.json", "styles.css"]));
    expect(started).toEqual([]);
    await templated.del({ id });
  });
});
