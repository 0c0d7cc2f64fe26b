import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ProjectsApi } from "../projects/contract";
import type { VfsApi } from "../vfs/contract";
import type { Workspace, WorkspaceApi } from "../workspace/contract";
import { runningWorkspace, startTestKiln, type TestKiln } from "./support/kiln";
import { startTestMongo, type TestMongo } from "./support/mongo";

let kiln: TestKiln;
let mongo: TestMongo;
let workspace: WorkspaceApi;
let vfs: VfsApi;
let auth: { userID: string };
let projectId: string;

const impl = <T>(name: string) => kiln.kiln.services.find((s) => s.name === name)!.impl as T;

const freshWorkspace = (): Promise<Workspace> => runningWorkspace(workspace, projectId);

/** 41 files: text, nested, empty, binary with every byte value, and one duplicate content. */
function project(): { path: string; contentBase64: string }[] {
  const files = Array.from({ length: 36 }, (_, i) => ({ path: `src/dir-${i % 4}/file-${i}.ts`, contentBase64: Buffer.from(`export const n${i} = ${i};\n`).toString("base64") }));
  files.push({ path: "assets/all-bytes.bin", contentBase64: Buffer.from(Array.from({ length: 256 }, (_, i) => i)).toString("base64") });
  files.push({ path: "assets/logo.png", contentBase64: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]).toString("base64") });
  files.push({ path: "empty.txt", contentBase64: "" });
  files.push({ path: "README.md", contentBase64: Buffer.from("# hello\n").toString("base64") });
  files.push({ path: "docs/README-copy.md", contentBase64: Buffer.from("# hello\n").toString("base64") });
  return files;
}

beforeAll(async () => {
  mongo = await startTestMongo();
  kiln = await startTestKiln({ MONGODB_URI: mongo.uri, KILN_MONGODB_DATABASE: mongo.databaseName });
  workspace = impl<WorkspaceApi>("workspace");
  vfs = impl<VfsApi>("vfs");
  auth = { userID: (await kiln.createUser("backup")).userID };
  projectId = (await impl<ProjectsApi>("projects").create({ name: "Backup" }, auth)).id;
}, 60_000);
afterAll(async () => {
  await kiln?.close();
  await mongo?.close();
});

describe("backup from a workspace and restore into a fresh one", () => {
  let original: Workspace;
  let firstSnapshot: string;

  it("backs up every file on the first run, then only what changed, recording deletions", async () => {
    original = await freshWorkspace();
    await workspace.writeFiles({ id: original.id, files: project() });
    const full = await vfs.backupWorkspace({ projectId, workspaceId: original.id, jobId: "job_1" }, auth);
    expect(full).toMatchObject({ changed: 41, unchanged: 0, deleted: 0, skipped: [] });
    // README.md and its copy share one blob.
    expect(full.uploadedBlobs).toBe(40);
    firstSnapshot = full.snapshot.id;

    const again = await vfs.backupWorkspace({ projectId, workspaceId: original.id }, auth);
    expect(again).toMatchObject({ changed: 0, unchanged: 41, deleted: 0, uploadedBlobs: 0 });

    await workspace.writeFiles({ id: original.id, files: [0, 1, 2].map((i) => ({ path: `src/dir-${i % 4}/file-${i}.ts`, contentBase64: Buffer.from(`changed ${i}\n`).toString("base64") })) });
    await workspace.deleteFiles({ id: original.id, paths: ["README.md"] });
    const incremental = await vfs.backupWorkspace({ projectId, workspaceId: original.id }, auth);
    expect(incremental).toMatchObject({ changed: 3, unchanged: 37, deleted: 1, uploadedBlobs: 3 });
    const diff = await vfs.diffSnapshots({ projectId, from: firstSnapshot, to: incremental.snapshot.id }, auth);
    expect(diff.removed).toEqual(["README.md"]);
    expect(diff.changed.sort()).toEqual(["src/dir-0/file-0.ts", "src/dir-1/file-1.ts", "src/dir-2/file-2.ts"]);
  });

  it("restores a snapshot into a fresh workspace byte for byte", async () => {
    const fresh = await freshWorkspace();
    const restored = await vfs.restoreWorkspace({ projectId, workspaceId: fresh.id, snapshotId: firstSnapshot }, auth);
    expect(restored).toEqual({ files: 41, snapshotId: firstSnapshot });
    const listing = async (id: string) =>
      (await workspace.listFiles({ id, hashes: true })).files.filter((f) => !f.isDir).map((f) => `${f.path} ${f.sha256}`).sort();
    const expected = project().map((f) => `${f.path} ${createHash("sha256").update(Buffer.from(f.contentBase64, "base64")).digest("hex")}`).sort();
    expect(await listing(fresh.id)).toEqual(expected);
  });
});

describe("backup of files the vfs cannot keep", () => {
  it("skips and lists a sandbox file whose name the path gate refuses, backing up the rest", async () => {
    const oddProject = (await impl<ProjectsApi>("projects").create({ name: "Odd names" }, auth)).id;
    const ws = await freshWorkspace();
    await workspace.writeFiles({ id: ws.id, files: [{ path: "kept.txt", contentBase64: Buffer.from("kept\n").toString("base64") }] });
    const made = await workspace.exec({ id: ws.id, command: "printf x > ./-rf && mkdir -p src && printf y > src/--help" });
    expect(made.exitCode, made.output).toBe(0);
    const outcome = await vfs.backupWorkspace({ projectId: oddProject, workspaceId: ws.id }, auth);
    expect(outcome).toMatchObject({ changed: 1, deleted: 0 });
    expect(outcome.skipped.sort()).toEqual(["-rf", "src/--help"]);
    expect((await vfs.listFiles({ projectId: oddProject }, auth)).files.map((f) => f.path)).toEqual(["kept.txt"]);
  });
});
