import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENCORE_DEFAULT_BODY_LIMIT, inBatches } from "../lib/batches";
import { loadConfig } from "../lib/config";
import type { ProjectsApi } from "../projects/contract";
import type { GitDeps } from "../vfs/git-service";
import type { VfsApi } from "../vfs/contract";
import { createVfsService } from "../vfs/service";
import { workspaceRoutes, type Workspace, type WorkspaceApi } from "../workspace/contract";
import { httpContract, serveInternally, type InternalServer } from "./support/internal-http";
import { memoryLogger, runningWorkspace, startTestKiln, type TestKiln } from "./support/kiln";
import { startTestMongo, type TestMongo } from "./support/mongo";

// Under Encore the vfs reaches the workspace over HTTP, each endpoint taking 2 MiB unless it declares
// more; here the workspace is served over HTTP the same way and the vfs calls it through that, so a
// restore or backup that sends one oversize call fails as it would under Encore.
const env = { KILN_BODY_LIMIT_BYTES: String(2 * 1024 * 1024) };
const MiB = 1024 * 1024;

let kiln: TestKiln;
let mongo: TestMongo;
let server: InternalServer;
let workspace: WorkspaceApi;
let overHttp: GitDeps["workspace"];
let vfs: VfsApi;
let auth: { userID: string };
const projectIds: string[] = [];

const impl = <T>(name: string) => kiln.kiln.services.find((s) => s.name === name)!.impl as T;
const sha = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

const freshWorkspace = (projectId: string): Promise<Workspace> => runningWorkspace(workspace, projectId);

/** About 22 MB: one 10 MiB file (the vfs maximum), 40 binary files of 200 KiB, 2,000 small text files, empty files. */
function bigProject(): { path: string; bytes: Buffer }[] {
  const files = [{ path: "assets/video.bin", bytes: randomBytes(10 * MiB) }];
  for (let i = 0; i < 40; i++) files.push({ path: `assets/images/img-${i}.png`, bytes: randomBytes(200 * 1024) });
  for (let i = 0; i < 2000; i++) files.push({ path: `src/mod-${i % 20}/file-${i}.ts`, bytes: Buffer.from(`export const v${i} = ${JSON.stringify("x".repeat(i % 4000))};\n`) });
  for (let i = 0; i < 5; i++) files.push({ path: `empty/e-${i}.txt`, bytes: Buffer.alloc(0) });
  return files;
}

beforeAll(async () => {
  mongo = await startTestMongo();
  kiln = await startTestKiln({ ...env, MONGODB_URI: mongo.uri, KILN_MONGODB_DATABASE: mongo.databaseName });
  workspace = impl<WorkspaceApi>("workspace");
  const { log } = memoryLogger("warn");
  server = await serveInternally({ name: "workspace", routes: workspaceRoutes, impl: workspace }, loadConfig(env).bodyLimitBytes, log);
  overHttp = httpContract<GitDeps["workspace"]>(workspaceRoutes, server.url);
  const projects = impl<ProjectsApi>("projects");
  vfs = createVfsService({ mongo: mongo.db, projects, workspace: overHttp, log });
  auth = { userID: (await kiln.createUser("internal")).userID };
  for (const name of ["Big", "Copy"]) projectIds.push((await projects.create({ name }, auth)).id);
}, 60_000);
afterAll(async () => {
  await server?.close();
  await kiln?.close();
  await mongo?.close();
});

describe("internal calls carrying files stay under Encore's body limit", () => {
  const project = bigProject();
  const expected = new Map(project.map((f) => [f.path, sha(f.bytes)]));
  let restored: Workspace;

  it("refuses one unbatched call of the whole project, as Encore would", async () => {
    const ws = await freshWorkspace(projectIds[0]!);
    const files = project.map((f) => ({ path: f.path, contentBase64: f.bytes.toString("base64") }));
    await expect(overHttp.writeFiles({ id: ws.id, files })).rejects.toMatchObject({ code: "resource_exhausted" });
  }, 60_000);

  it("restores a 22 MB project through the HTTP path byte for byte, every call under the limit", async () => {
    const [projectId] = projectIds as [string];
    const uploads = project.map((f) => ({ path: f.path, contentBase64: f.bytes.toString("base64") }));
    await inBatches(uploads, (batch) => vfs.writeFiles({ projectId, files: batch }, auth));
    const snapshot = await vfs.createSnapshot({ projectId }, auth);

    restored = await freshWorkspace(projectId);
    server.calls.length = 0;
    expect(await vfs.restoreWorkspace({ projectId, workspaceId: restored.id }, auth)).toEqual({ files: project.length, snapshotId: snapshot.id });

    const writes = server.calls.filter((c) => c.route === "POST /workspaces/:id/files");
    expect(writes.length).toBeGreaterThan(10);
    expect(writes.every((c) => c.status === 200)).toBe(true);
    for (const call of writes) if (call.files > 1) expect(call.requestBytes).toBeLessThanOrEqual(ENCORE_DEFAULT_BODY_LIMIT);
    expect(writes.filter((c) => c.requestBytes > ENCORE_DEFAULT_BODY_LIMIT)).toEqual([expect.objectContaining({ files: 1 })]);
    expect(writes.reduce((n, c) => n + c.files, 0)).toBe(project.length);

    const listing = await workspace.listFiles({ id: restored.id, path: "", recursive: true, hashes: true });
    const inSandbox = new Map(listing.files.filter((f) => !f.isDir).map((f) => [f.path, f.sha256]));
    expect(inSandbox).toEqual(expected);
  }, 120_000);

  it("backs that workspace up into another project through the HTTP path, every answer under the limit", async () => {
    const projectId = projectIds[1]!;
    server.calls.length = 0;
    const outcome = await vfs.backupWorkspace({ projectId, workspaceId: restored.id }, auth);
    expect(outcome).toMatchObject({ changed: project.length, deleted: 0, skipped: [] });

    const reads = server.calls.filter((c) => c.route === "POST /workspaces/:id/files/read");
    expect(reads.length).toBeGreaterThan(10);
    for (const call of reads) if (call.files > 1) expect(call.responseBytes).toBeLessThanOrEqual(ENCORE_DEFAULT_BODY_LIMIT);
    expect(reads.reduce((n, c) => n + c.files, 0)).toBe(project.length);

    const manifest = (await vfs.getSnapshot({ projectId, snapshotId: outcome.snapshot.id }, auth)).files;
    expect(new Map(manifest.map((f) => [f.path, f.sha256]))).toEqual(expected);
  }, 120_000);
});
