import { createHash } from "node:crypto";
import { Binary } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ProjectsApi } from "../projects/contract";
import type { Version, VfsApi } from "../vfs/contract";
import type { Workspace, WorkspaceApi } from "../workspace/contract";
import { client, type TestClient } from "./support/http";
import { runningWorkspace, startTestKiln, type TestKiln } from "./support/kiln";
import { startTestMongo, type TestMongo } from "./support/mongo";

let mongo: TestMongo;
let kiln: TestKiln;
let alice: TestClient;
let bob: TestClient;
let aliceAuth: { userID: string };
let vfs: VfsApi;
let workspace: WorkspaceApi;
let projects: ProjectsApi;

const impl = <T>(name: string) => kiln.kiln.services.find((s) => s.name === name)!.impl as T;
const b64 = (bytes: string | Buffer) => Buffer.from(bytes).toString("base64");
const sha = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

beforeAll(async () => {
  mongo = await startTestMongo();
  kiln = await startTestKiln({ MONGODB_URI: mongo.uri, KILN_MONGODB_DATABASE: mongo.databaseName });
  const a = await kiln.createUser("alice");
  aliceAuth = { userID: a.userID };
  alice = client(kiln.url, a.token);
  bob = client(kiln.url, (await kiln.createUser("bob")).token);
  vfs = impl<VfsApi>("vfs");
  workspace = impl<WorkspaceApi>("workspace");
  projects = impl<ProjectsApi>("projects");
}, 60_000);
afterAll(async () => {
  await kiln?.close();
  await mongo?.close();
});

/** A project of alice's with a running workspace recorded as its own. */
async function projectWithWorkspace(name: string): Promise<{ projectId: string; ws: Workspace }> {
  const projectId = (await projects.create({ name, template: "blank" }, aliceAuth)).id;
  const ws = await runningWorkspace(workspace, projectId);
  await projects.recordActivity({ id: projectId, workspaceId: ws.id });
  return { projectId, ws };
}

/** What a generation's end leaves: the final backup labelled with the job, then its version. */
async function generationEnds(projectId: string, ws: Workspace, jobId: string, prompt: string, status: "completed" | "failed" = "completed"): Promise<Version> {
  await vfs.backupWorkspace({ projectId, workspaceId: ws.id, jobId, label: `job ${jobId}` }, aliceAuth);
  return vfs.recordVersion({ projectId, jobId, prompt, status, summary: `summary of ${jobId}` }, aliceAuth);
}

/** Every file of a sandbox as "path sha256", sorted. */
async function sandboxFiles(id: string): Promise<string[]> {
  return (await workspace.listFiles({ id, hashes: true })).files.filter((f) => !f.isDir).map((f) => `${f.path} ${f.sha256}`).sort();
}

const LOGO_V1 = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 255, 0, 7]);
const LOGO_V2 = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 3, 255, 0, 7]);
const V1_FILES = [
  { path: "src/app.ts", contentBase64: b64("a\nb\nc\n") },
  { path: "public/logo.png", contentBase64: b64(LOGO_V1) },
  { path: "old.txt", contentBase64: b64("bye\n") },
];
const expectedV1 = V1_FILES.map((f) => `${f.path} ${sha(Buffer.from(f.contentBase64, "base64"))}`).sort();

describe("versions: list, diff, restore and fork over HTTP", () => {
  let projectId: string;
  let ws: Workspace;
  let v1: Version;
  let v2: Version;

  beforeAll(async () => {
    ({ projectId, ws } = await projectWithWorkspace("History"));
    await workspace.writeFiles({ id: ws.id, files: V1_FILES });
    v1 = await generationEnds(projectId, ws, "job_one", "Build it");
    await workspace.writeFiles({ id: ws.id, files: [{ path: "src/app.ts", contentBase64: b64("a\nB\nc\nd\n") }, { path: "public/logo.png", contentBase64: b64(LOGO_V2) }, { path: "new.txt", contentBase64: b64("x\ny\n") }] });
    await workspace.deleteFiles({ id: ws.id, paths: ["old.txt"] });
    v2 = await generationEnds(projectId, ws, "job_two", "Break it", "failed");
  }, 60_000);

  it("lists a project's versions newest first, a page at a time, with prompt, outcome and files changed", async () => {
    const listed = await alice.call("GET", `/vfs/${projectId}/versions`);
    expect(listed.status).toBe(200);
    expect(listed.body.versions.map((v: Version) => [v.id, v.kind, v.status, v.prompt, v.summary])).toEqual([
      [v2.id, "generation", "failed", "Break it", "summary of job_two"],
      [v1.id, "generation", "completed", "Build it", "summary of job_one"],
    ]);
    expect(listed.body.versions[0].changes).toEqual([
      { path: "new.txt", change: "added", linesAdded: 2, linesRemoved: 0 },
      { path: "old.txt", change: "deleted", linesAdded: 0, linesRemoved: 1 },
      { path: "public/logo.png", change: "modified", linesAdded: null, linesRemoved: null },
      { path: "src/app.ts", change: "modified", linesAdded: 2, linesRemoved: 1 },
    ]);
    expect(listed.body.versions[1].changes.map((c: { change: string }) => c.change)).toEqual(["added", "added", "added"]);

    const first = await alice.call("GET", `/vfs/${projectId}/versions?limit=1`);
    expect(first.body.versions.map((v: Version) => v.id)).toEqual([v2.id]);
    const second = await alice.call("GET", `/vfs/${projectId}/versions?limit=1&cursor=${first.body.nextCursor}`);
    expect(second.body).toMatchObject({ versions: [{ id: v1.id }], nextCursor: null });

    const one = await alice.call("GET", `/vfs/${projectId}/versions/${v1.id}`);
    expect(one.body.version.id).toBe(v1.id);
    expect(one.body.files.map((f: { path: string; sha256: string }) => `${f.path} ${f.sha256}`)).toEqual(expectedV1);
  });

  it("diffs a version against the one before it: a unified diff for text, binary changed otherwise", async () => {
    const diff = await alice.call("GET", `/vfs/${projectId}/versions/${v2.id}/diff`);
    expect(diff.status).toBe(200);
    expect(diff.body.from).toBe(v1.id);
    const byPath = Object.fromEntries(diff.body.files.map((f: { path: string }) => [f.path, f]));
    expect(byPath["src/app.ts"].patch).toBe("--- a/src/app.ts\n+++ b/src/app.ts\n@@ -1,3 +1,4 @@\n a\n-b\n+B\n c\n+d\n");
    expect(byPath["public/logo.png"]).toMatchObject({ change: "modified", binary: true, patch: "binary changed" });
    expect(byPath["new.txt"].patch).toBe("--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1,2 @@\n+x\n+y\n");
    expect(byPath["old.txt"].patch).toBe("--- a/old.txt\n+++ /dev/null\n@@ -1,1 +0,0 @@\n-bye\n");
    const backwards = await alice.call("GET", `/vfs/${projectId}/versions/${v1.id}/diff?against=${v2.id}`);
    expect(backwards.body.files.find((f: { path: string }) => f.path === "src/app.ts").patch).toContain("-B\n");
    const firstEver = await alice.call("GET", `/vfs/${projectId}/versions/${v1.id}/diff`);
    expect(firstEver.body.from).toBeNull();
  });

  it("refuses to restore with 409 while a generation runs", async () => {
    await projects.recordActivity({ id: projectId, status: "generating" });
    const refused = await alice.call("POST", `/vfs/${projectId}/versions/${v1.id}/restore`, {});
    await projects.recordActivity({ id: projectId, status: "failed" });
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe("aborted");
    expect(refused.body.message).toContain("generation running");
    expect(await sandboxFiles(ws.id)).not.toEqual(expectedV1);
  });

  it("restores a version byte for byte into the workspace and as a new head revision, leaving earlier versions intact", async () => {
    const before = (await vfs.fileHistory({ projectId, path: "src/app.ts" }, aliceAuth)).entries.length;
    const restored = await alice.call("POST", `/vfs/${projectId}/versions/${v1.id}/restore`, {});
    expect(restored.status).toBe(200);
    expect(restored.body).toMatchObject({ workspaceSynced: true, version: { kind: "restore", source: { projectId, versionId: v1.id } } });
    expect(restored.body.version.revision).toBeGreaterThan(v2.revision);

    expect(await sandboxFiles(ws.id)).toEqual(expectedV1);
    const logo = await alice.call("GET", `/vfs/${projectId}/file?path=public/logo.png`);
    expect(Buffer.from(logo.body.contentBase64, "base64").equals(LOGO_V1)).toBe(true);
    const current = await alice.call("GET", `/vfs/${projectId}/files`);
    expect(current.body.files.map((f: { path: string; sha256: string }) => `${f.path} ${f.sha256}`)).toEqual(expectedV1);

    // History is never rewritten: one more change of the path, and the version restored from is still whole.
    expect((await vfs.fileHistory({ projectId, path: "src/app.ts" }, aliceAuth)).entries.length).toBe(before + 1);
    const listed = await alice.call("GET", `/vfs/${projectId}/versions`);
    expect(listed.body.versions.map((v: Version) => v.id)).toEqual([restored.body.version.id, v2.id, v1.id]);
    const later = await alice.call("GET", `/vfs/${projectId}/versions/${v2.id}`);
    expect(later.body.files.map((f: { path: string }) => f.path)).toEqual(["new.txt", "public/logo.png", "src/app.ts"]);
    const newer = await alice.call("GET", `/vfs/${projectId}/file?path=src/app.ts&revision=${v2.revision}`);
    expect(Buffer.from(newer.body.contentBase64, "base64").toString()).toBe("a\nB\nc\nd\n");
  });

  it("forks a version into a new project of the same owner, with its own workspace, isolated from the original", async () => {
    const forked = await alice.call("POST", `/vfs/${projectId}/versions/${v2.id}/fork`, { name: "Forked" });
    expect(forked.status).toBe(200);
    const fork = forked.body.project;
    expect(fork).toMatchObject({ name: "Forked" });
    expect(fork.id).not.toBe(projectId);
    expect(fork.workspaceId).not.toBe(ws.id);
    expect(forked.body.version).toMatchObject({ kind: "fork", source: { projectId, versionId: v2.id } });
    expect((await alice.call("GET", `/projects/${fork.id}`)).status).toBe(200);
    expect((await bob.call("GET", `/projects/${fork.id}`)).status).toBe(404);

    const v2Files = (await vfs.getVersion({ projectId, versionId: v2.id }, aliceAuth)).files.map((f) => `${f.path} ${f.sha256}`);
    expect(await sandboxFiles(fork.workspaceId)).toEqual(v2Files);
    const forkFiles = await alice.call("GET", `/vfs/${fork.id}/files`);
    expect(forkFiles.body.files.map((f: { path: string; sha256: string }) => `${f.path} ${f.sha256}`)).toEqual(v2Files);

    // Editing the fork changes nothing in the original, and the reverse.
    await alice.call("POST", `/vfs/${fork.id}/files`, { files: [{ path: "src/app.ts", contentBase64: b64("fork only\n") }] });
    await workspace.writeFiles({ id: fork.workspaceId, files: [{ path: "fork.txt", contentBase64: b64("f") }] });
    await alice.call("DELETE", `/vfs/${projectId}/files?paths=old.txt`);
    const original = await alice.call("GET", `/vfs/${projectId}/file?path=src/app.ts`);
    expect(Buffer.from(original.body.contentBase64, "base64").toString()).toBe("a\nb\nc\n");
    expect(await sandboxFiles(ws.id)).toEqual(expectedV1);
    expect((await alice.call("GET", `/vfs/${fork.id}/file?path=old.txt`)).status).toBe(404);
    expect((await alice.call("GET", `/vfs/${fork.id}/versions`)).body.versions.map((v: Version) => v.id)).toEqual([forked.body.version.id]);
  });

  it("restores into a stopped workspace by starting it, and without a live one writes only the new head", async () => {
    const { projectId: id, ws: sandbox } = await projectWithWorkspace("Asleep");
    await workspace.writeFiles({ id: sandbox.id, files: V1_FILES });
    const first = await generationEnds(id, sandbox, "job_s1", "First");
    await workspace.writeFiles({ id: sandbox.id, files: [{ path: "src/app.ts", contentBase64: b64("broken\n") }] });
    await generationEnds(id, sandbox, "job_s2", "Break it");

    await workspace.stop({ id: sandbox.id });
    expect((await workspace.get({ id: sandbox.id })).status).toBe("stopped");
    const woken = await alice.call("POST", `/vfs/${id}/versions/${first.id}/restore`, {});
    expect(woken.status, woken.text).toBe(200);
    expect(woken.body.workspaceSynced).toBe(true);
    expect((await workspace.get({ id: sandbox.id })).status).toBe("running");
    expect(await sandboxFiles(sandbox.id)).toEqual(expectedV1);

    // The sandbox is gone (deleted while idle): the vfs gets the version as its new head, which the next
    // workspace restores; the answer says the workspace was not synced.
    await workspace.writeFiles({ id: sandbox.id, files: [{ path: "src/app.ts", contentBase64: b64("broken again\n") }] });
    const broken = await generationEnds(id, sandbox, "job_s3", "Break it again");
    await workspace.del({ id: sandbox.id });
    const headless = await alice.call("POST", `/vfs/${id}/versions/${first.id}/restore`, {});
    expect(headless.status, headless.text).toBe(200);
    expect(headless.body).toMatchObject({ workspaceSynced: false, version: { kind: "restore", source: { projectId: id, versionId: first.id } } });
    const head = await alice.call("GET", `/vfs/${id}/files`);
    expect(head.body.files.map((f: { path: string; sha256: string }) => `${f.path} ${f.sha256}`)).toEqual(expectedV1);
    const kept = await alice.call("GET", `/vfs/${id}/versions/${broken.id}`);
    expect(kept.body.files.find((f: { path: string }) => f.path === "src/app.ts").sha256).toBe(sha(Buffer.from("broken again\n")));
  });

  it("answers bad input to every version endpoint with a clear 4xx", async () => {
    const endpoints: [string, string, unknown?][] = [
      ["GET", `/vfs/${projectId}/versions`],
      ["GET", `/vfs/${projectId}/versions/${v1.id}`],
      ["GET", `/vfs/${projectId}/versions/${v1.id}/diff`],
      ["GET", `/vfs/${projectId}/versions/${v1.id}/thumbnail`],
      ["POST", `/vfs/${projectId}/versions/${v1.id}/restore`, {}],
      ["POST", `/vfs/${projectId}/versions/${v1.id}/fork`, {}],
    ];
    for (const [method, path, body] of endpoints) {
      const foreign = await bob.call(method, path, body);
      expect([path, foreign.status, foreign.body.code, foreign.body.message]).toEqual([path, 404, "not_found", `project "${projectId}" not found`]);
      const unknownProject = await alice.call(method, path.replace(projectId, "prj_missing"), body);
      expect([path, unknownProject.status]).toEqual([path, 404]);
    }
    const cases: [string, string, unknown, number, string][] = [
      ["GET", `/vfs/${projectId}/versions?limit=0`, undefined, 400, "limit: "],
      ["GET", `/vfs/${projectId}/versions?cursor=nonsense`, undefined, 400, "cursor: is not a cursor returned by this API"],
      ["GET", `/vfs/${projectId}/versions/snp_missing`, undefined, 404, 'version "snp_missing" not found'],
      ["GET", `/vfs/${projectId}/versions/not-an-id`, undefined, 400, 'versionId: "not-an-id" is not a version id'],
      ["POST", `/vfs/${projectId}/versions/${"v".repeat(90)}/restore`, {}, 400, "versionId: "],
      ["GET", `/vfs/${projectId}/versions/${v2.id}/diff?against=..%2F..`, undefined, 400, "against: "],
      ["GET", `/vfs/${projectId}/versions/${v2.id}/diff?against=snp_missing`, undefined, 404, 'version "snp_missing" not found'],
      ["GET", `/vfs/${projectId}/versions/${v1.id}/thumbnail`, undefined, 404, "thumbnail of version"],
      ["POST", `/vfs/${projectId}/versions/snp_missing/restore`, {}, 404, 'version "snp_missing" not found'],
      ["POST", `/vfs/${projectId}/versions/${v1.id}/fork`, { name: "  " }, 400, "name: "],
      ["POST", `/vfs/${projectId}/versions/${v1.id}/fork`, { name: "n".repeat(101) }, 400, "name: "],
      ["POST", `/vfs/${projectId}/versions/${v1.id}/fork`, { name: 7 }, 400, "name: must be a string"],
    ];
    for (const [method, path, body, status, message] of cases) {
      const answer = await alice.call(method, path, body);
      expect([path, answer.status]).toEqual([path, status]);
      expect(answer.body.message).toContain(message);
    }
    // A snapshot that is no version (a checkpoint) is not a version.
    const checkpoint = await alice.call("POST", `/vfs/${projectId}/snapshots`, { label: "checkpoint" });
    expect((await alice.call("GET", `/vfs/${projectId}/versions/${checkpoint.body.id}`)).status).toBe(404);
    // The endpoint the ai service calls is not reachable from outside.
    expect((await alice.call("POST", `/vfs/${projectId}/versions`, { jobId: "job_x", prompt: "p", status: "completed" })).status).toBe(404);
  });
});

describe("a corrupted blob", () => {
  it("makes reads, diffs and restores fail with data_loss naming the file, never serving the corrupted bytes", async () => {
    const { projectId, ws } = await projectWithWorkspace("Corrupted");
    const secret = "the real content\n";
    await workspace.writeFiles({ id: ws.id, files: [{ path: "src/precious.ts", contentBase64: b64(secret) }, { path: "ok.txt", contentBase64: b64("ok\n") }] });
    const v1 = await generationEnds(projectId, ws, "job_c1", "first");
    await workspace.writeFiles({ id: ws.id, files: [{ path: "src/precious.ts", contentBase64: b64("second\n") }] });
    await generationEnds(projectId, ws, "job_c2", "second");

    const blob = await mongo.db.collection("blobs.files").findOne({ "metadata.projectId": projectId, "metadata.sha256": sha(Buffer.from(secret)) });
    const chunk = await mongo.db.collection("blobs.chunks").findOne({ files_id: blob!._id, n: 0 });
    const bytes = Buffer.from((chunk!.data as Binary).buffer);
    bytes[4] = bytes[4]! ^ 0x01;
    await mongo.db.collection("blobs.chunks").updateOne({ _id: chunk!._id }, { $set: { data: new Binary(bytes) } });

    const read = await alice.call("GET", `/vfs/${projectId}/file?path=src/precious.ts&revision=${v1.revision}`);
    expect(read.status).toBe(500);
    expect(read.body.code).toBe("data_loss");
    expect(read.body.message).toContain('"src/precious.ts"');
    expect(read.text).not.toContain(b64(bytes));
    expect(read.text).not.toContain("contentBase64");

    const diff = await alice.call("GET", `/vfs/${projectId}/versions/${v1.id}/diff?against=${(await vfs.listVersions({ projectId }, aliceAuth)).versions[0]!.id}`);
    expect(diff.body).toMatchObject({ code: "data_loss" });
    expect(diff.body.message).toContain('"src/precious.ts"');

    const before = await sandboxFiles(ws.id);
    const restore = await alice.call("POST", `/vfs/${projectId}/versions/${v1.id}/restore`, {});
    expect(restore.status).toBe(500);
    expect(restore.body.code).toBe("data_loss");
    expect(restore.body.message).toContain('"src/precious.ts"');
    // Nothing was written anywhere: the sandbox and the vfs head are as they were.
    expect(await sandboxFiles(ws.id)).toEqual(before);
    const head = await alice.call("GET", `/vfs/${projectId}/file?path=src/precious.ts`);
    expect(Buffer.from(head.body.contentBase64, "base64").toString()).toBe("second\n");
    expect((await vfs.listVersions({ projectId }, aliceAuth)).versions).toHaveLength(2);
  });
});
