import { cp, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TemplateCatalog } from "../lib/templates";
import { openTestDatabase, type TestDatabase } from "../test/support/database";
import { reservePorts } from "../test/support/ports";
import { scriptedSessionIsolation, searchableTempDir } from "../test/support/isolation";
import { memoryLogger } from "../test/support/kiln";
import { createLocalProvider } from "./sandbox/local";
import type { SandboxProvider } from "./sandbox/provider";
import { createWorkspaceService } from "./service";

const { log } = memoryLogger("warn");
const [firstPort] = await reservePorts(20);
let root: string;
let provider: SandboxProvider;
/** Only the static template (no dependencies to install), so the pool needs no registry. */
let templates: TemplateCatalog;
const opened: Array<{ service: ReturnType<typeof createWorkspaceService>; database: TestDatabase }> = [];

beforeAll(async () => {
  root = await searchableTempDir("kiln-warm-pool-");
  await cp(new URL("../templates/static", import.meta.url), join(root, "templates", "static"), { recursive: true });
  templates = TemplateCatalog.load(join(root, "templates"), "static");
  provider = await createLocalProvider({ root: join(root, "sandboxes"), portRange: [firstPort, firstPort + 19], log, isolation: scriptedSessionIsolation("the warm pool tests") });
});
afterAll(async () => {
  for (const { service, database } of opened) {
    await service.close();
    await database.close();
  }
  await rm(root, { recursive: true, force: true });
});

/** A workspace service of its own database keeping `size` spares of the static template, once its pool is full. */
async function pooled(size: number, ports: [number, number], own?: SandboxProvider) {
  const database = await openTestDatabase("workspace");
  const service = createWorkspaceService({ db: database.pool, provider: own ?? provider, portRange: ports, log, templates, warmPool: size });
  if (!own) opened.push({ service, database });
  await service.fillPool();
  const spares = async () => (await database.pool.query("SELECT * FROM workspaces WHERE project_id IS NULL AND status <> 'deleted'")).rows;
  return { service, database, spares };
}


describe("the warm pool", () => {
  let pool: Awaited<ReturnType<typeof pooled>>;
  beforeAll(async () => {
    pool = await pooled(2, [firstPort, firstPort + 5]);
  });

  it("keeps spares with the template's files, out of reach by id until a create claims one", async () => {
    const spares = await pool.spares();
    expect(spares).toHaveLength(2);
    for (const spare of spares) {
      expect(spare).toMatchObject({ status: "running", template: "static", dev_command: "npm run dev" });
      expect((await fetch(spare.preview_url)).status).toBe(200);
      await expect(pool.service.get({ id: spare.id })).rejects.toMatchObject({ code: "not_found" });
      const files = await provider.listFiles(spare.provider_sandbox_id, { recursive: true });
      expect(files.filter((f) => !f.isDir).map((f) => f.path).sort()).toEqual(templates.find("static")!.files.map((f) => f.path).sort());
    }
  });

  it("hands concurrent creates different running spares whose previews already answer, then refills", async () => {
    const before = (await pool.spares()).map((s) => s.id).sort();
    const [a, b] = await Promise.all([pool.service.create({ projectId: "prj_a", template: "static" }), pool.service.create({ projectId: "prj_b", template: "static" })]);
    expect([a!.id, b!.id].sort()).toEqual(before);
    expect(a!.providerSandboxId).not.toBe(b!.providerSandboxId);
    for (const ws of [a!, b!]) {
      expect(ws).toMatchObject({ status: "running", template: "static", devCommand: "npm run dev" });
      expect(await (await fetch(ws.previewUrl!)).text()).toContain("Your site starts here");
    }
    // Each is its project's alone: a file one writes is not the other's.
    await pool.service.writeFiles({ id: a!.id, files: [{ path: "only-a.txt", contentBase64: Buffer.from("a").toString("base64") }] });
    expect((await pool.service.readFiles({ id: b!.id, paths: ["only-a.txt"] })).files[0]).toMatchObject({ error: "not_found" });
    // The generation's look at the dev server finds it answering, not restarting it.
    expect(await pool.service.ensureDevServer({ id: a!.id, command: "npm run dev", probeTimeoutMs: 5000 })).toMatchObject({ ok: true, processId: (await pool.database.pool.query("SELECT dev_process_id FROM workspaces WHERE id = $1", [a!.id])).rows[0].dev_process_id });

    await pool.service.fillPool();
    const after = await pool.spares();
    expect(after).toHaveLength(2);
    expect(after.every((s) => s.status === "running" && ![a!.id, b!.id].includes(s.id))).toBe(true);

    // Deleting the project's workspace deletes the sandbox the spare had.
    await pool.service.del({ id: a!.id });
    expect((await provider.get(a!.providerSandboxId!)).state).toBe("gone");
    await pool.service.del({ id: b!.id });
  });

  it("never hands out a spare whose dev server has died: it is discarded", async () => {
    const [dead, ...rest] = await pool.spares();
    await provider.stopProcess(dead.provider_sandbox_id, dead.dev_process_id);
    const ws = await pool.service.create({ projectId: "prj_after_death", template: "static" });
    expect(ws.id).not.toBe(dead.id);
    expect(ws.id).toBe(rest[0].id);
    expect((await provider.get(dead.provider_sandbox_id)).state).toBe("gone");
    await pool.service.del({ id: ws.id });
    await pool.service.fillPool();
  });

  it("reconciling discards a spare whose dev server died and makes the pool full again", async () => {
    const [dead] = await pool.spares();
    await provider.stopProcess(dead.provider_sandbox_id, dead.dev_process_id);
    await pool.service.reconcile({});
    expect((await provider.get(dead.provider_sandbox_id)).state).toBe("gone");
    await pool.service.fillPool();
    const spares = await pool.spares();
    expect(spares).toHaveLength(2);
    expect(spares.map((s) => s.id)).not.toContain(dead.id);
  });

  it("makes no spares of blank, and an empty project's create is today's", async () => {
    const ws = await pool.service.create({ projectId: "prj_blank" });
    expect(ws.status).toBe("creating");
    expect((await pool.spares()).every((s) => s.template === "static")).toBe(true);
  });

  it("leaves no spare behind when the service closes", async () => {
    // Its own provider: closing the service closes it.
    const alone = await createLocalProvider({ root: join(root, "alone"), portRange: [firstPort, firstPort + 19], log, isolation: scriptedSessionIsolation("the warm pool tests") });
    const own = await pooled(1, [firstPort + 6, firstPort + 8], alone);
    const [spare] = await own.spares();
    expect((await alone.list()).map((s) => s.id)).toContain(spare.provider_sandbox_id);
    await own.service.close();
    expect((await alone.list()).map((s) => s.id)).not.toContain(spare.provider_sandbox_id);
    expect(await own.spares()).toEqual([]);
    await own.database.close();
  });
});

describe("with no warm pool", () => {
  it("makes no spares and creates as before: the workspace starts creating", async () => {
    const none = await pooled(0, [firstPort + 9, firstPort + 11]);
    expect(await none.spares()).toEqual([]);
    const ws = await none.service.create({ projectId: "prj_none", template: "static" });
    expect(ws).toMatchObject({ status: "creating", previewUrl: null });
  });
});
