import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { client, type TestClient } from "./support/http";
import { startTestKiln, type TestKiln } from "./support/kiln";
import { startTestMongo, type TestMongo } from "./support/mongo";

let mongo: TestMongo;
let kiln: TestKiln;
let alice: TestClient;
let bob: TestClient;

beforeAll(async () => {
  mongo = await startTestMongo();
  kiln = await startTestKiln({ MONGODB_URI: mongo.uri, KILN_MONGODB_DATABASE: mongo.databaseName });
  alice = client(kiln.url, (await kiln.createUser("alice")).token);
  bob = client(kiln.url, (await kiln.createUser("bob")).token);
});
afterAll(async () => {
  await kiln?.close();
  await mongo?.close();
});

const b64 = (bytes: string | Buffer) => Buffer.from(bytes).toString("base64");

async function newProject(name: string): Promise<string> {
  return (await alice.call("POST", "/projects", { name })).body.id;
}

describe("the vfs over HTTP", () => {
  it("writes, reads, lists, renames, deletes, snapshots and diffs a project's files", async () => {
    const id = await newProject("Files");
    const binary = Buffer.from([0, 255, 128, 10, 13, 0]);
    const write = await alice.call("POST", `/vfs/${id}/files`, {
      files: [
        { path: "src/App.tsx", contentBase64: b64("export default 1;\n") },
        { path: "src2/keep.ts", contentBase64: b64("keep") },
        { path: "public/icon.bin", contentBase64: b64(binary) },
      ],
      jobId: "job_1",
      turn: 1,
    });
    expect(write.status).toBe(200);
    expect(write.body).toMatchObject({ revision: 1, uploadedBlobs: 3 });
    const first = await alice.call("POST", `/vfs/${id}/snapshots`, { jobId: "job_1", turn: 1 });
    expect(first.body).toMatchObject({ revision: 1, fileCount: 3 });

    const icon = await alice.call("GET", `/vfs/${id}/file?path=${encodeURIComponent("public/icon.bin")}`);
    expect(Buffer.from(icon.body.contentBase64, "base64").equals(binary)).toBe(true);
    const root = await alice.call("GET", `/vfs/${id}/files?recursive=false`);
    expect(root.body).toEqual({ files: [], directories: ["public", "src", "src2"] });

    const renamed = await alice.call("POST", `/vfs/${id}/rename`, { from: "src", to: "app", turn: 2 });
    expect(renamed.body).toEqual({ revision: 2, paths: ["app/App.tsx"] });
    const deleted = await alice.call("DELETE", `/vfs/${id}/files?paths=public&paths=missing.txt`);
    expect(deleted.body).toEqual({ revision: 3, paths: ["public/icon.bin"] });
    const all = await alice.call("GET", `/vfs/${id}/files`);
    expect(all.body.files.map((f: { path: string }) => f.path)).toEqual(["app/App.tsx", "src2/keep.ts"]);
    const old = await alice.call("GET", `/vfs/${id}/file?path=src/App.tsx&revision=1`);
    expect(Buffer.from(old.body.contentBase64, "base64").toString()).toBe("export default 1;\n");
    const history = await alice.call("GET", `/vfs/${id}/history?path=src/App.tsx`);
    expect(history.body.entries.map((e: { action: string }) => e.action)).toEqual(["rename", "write"]);

    const second = await alice.call("POST", `/vfs/${id}/snapshots`, { label: "after cleanup" });
    const listed = await alice.call("GET", `/vfs/${id}/snapshots`);
    expect(listed.body.snapshots.map((s: { id: string }) => s.id)).toEqual([second.body.id, first.body.id]);
    const manifest = await alice.call("GET", `/vfs/${id}/snapshots/${first.body.id}`);
    expect(manifest.body.files.map((f: { path: string }) => f.path)).toEqual(["public/icon.bin", "src/App.tsx", "src2/keep.ts"]);
    const diff = await alice.call("GET", `/vfs/${id}/diff?from=${first.body.id}&to=${second.body.id}`);
    expect(diff.body).toEqual({ added: ["app/App.tsx"], changed: [], removed: ["public/icon.bin", "src/App.tsx"] });
  });

  it("answers bad input with 400 invalid_argument naming the field", async () => {
    const id = await newProject("Bad input");
    const traversal = await alice.call("POST", `/vfs/${id}/files`, { files: [{ path: "../../etc/passwd", contentBase64: b64("x") }] });
    expect(traversal.status).toBe(400);
    expect(traversal.body).toEqual({
      code: "invalid_argument",
      message: 'files[0].path: path "../../etc/passwd" contains a .. segment',
      details: { field: "files[0].path" },
    });
    expect((await alice.call("GET", `/vfs/${id}/file?path=`)).body.message).toBe("path: must not be empty");
  });

  it("answers a revision the project has not reached with 404 naming it, and reads the latest one", async () => {
    const id = await newProject("Revisions");
    await alice.call("POST", `/vfs/${id}/files`, { files: [{ path: "a.txt", contentBase64: b64("one") }] });
    await alice.call("POST", `/vfs/${id}/files`, { files: [{ path: "a.txt", contentBase64: b64("two") }] });
    const latest = await alice.call("GET", `/vfs/${id}/file?path=a.txt&revision=2`);
    expect(Buffer.from(latest.body.contentBase64, "base64").toString()).toBe("two");
    for (const revision of [3, 1_000_000]) {
      const beyond = await alice.call("GET", `/vfs/${id}/file?path=a.txt&revision=${revision}`);
      expect(beyond.status).toBe(404);
      expect(beyond.body).toEqual({
        code: "not_found",
        message: `revision ${revision} not found: the project's latest revision is 2`,
        details: { revision, latest: 2 },
      });
    }
    for (const revision of ["0", "-1", "1.5", "abc", "0x2"]) {
      const bad = await alice.call("GET", `/vfs/${id}/file?path=a.txt&revision=${revision}`);
      expect(bad.status).toBe(400);
      expect(bad.body.details).toEqual({ field: "revision" });
    }
  });

  it("gives another user 404 on every file endpoint of a project they do not own", async () => {
    const id = await newProject("Private");
    await alice.call("POST", `/vfs/${id}/files`, { files: [{ path: "secret.env", contentBase64: b64("KEY=1") }] });
    const { body: snapshot } = await alice.call("POST", `/vfs/${id}/snapshots`, {});
    const attempts = await Promise.all([
      bob.call("GET", `/vfs/${id}/file?path=secret.env`),
      bob.call("GET", `/vfs/${id}/files`),
      bob.call("POST", `/vfs/${id}/files`, { files: [{ path: "secret.env", contentBase64: b64("mine") }] }),
      bob.call("DELETE", `/vfs/${id}/files?paths=secret.env`),
      bob.call("POST", `/vfs/${id}/rename`, { from: "secret.env", to: "x.env" }),
      bob.call("GET", `/vfs/${id}/history?path=secret.env`),
      bob.call("POST", `/vfs/${id}/snapshots`, {}),
      bob.call("GET", `/vfs/${id}/snapshots`),
      bob.call("GET", `/vfs/${id}/snapshots/${snapshot.id}`),
      bob.call("GET", `/vfs/${id}/diff?from=${snapshot.id}&to=${snapshot.id}`),
    ]);
    for (const response of attempts) {
      expect(response.status).toBe(404);
      expect(response.body).toEqual({ code: "not_found", message: `project "${id}" not found`, details: null });
    }
    const still = await alice.call("GET", `/vfs/${id}/file?path=secret.env`);
    expect(Buffer.from(still.body.contentBase64, "base64").toString()).toBe("KEY=1");
  });

  it("answers 401 without a token, and does not serve the service-to-service endpoints", async () => {
    const id = await newProject("Locked");
    const anonymous = client(kiln.url);
    const response = await anonymous.call("GET", `/vfs/${id}/files`);
    expect(response.status).toBe(401);
    expect(response.body.code).toBe("unauthenticated");
    expect((await anonymous.call("POST", `/vfs/${id}/files`, { files: [] })).status).toBe(401);
    expect((await alice.call("DELETE", `/vfs/${id}`)).status).toBe(404);
    expect((await alice.call("POST", "/vfs/sweep", {})).status).toBe(404);
    expect((await fetch(`${kiln.url}/vfs/health`)).status).toBe(200);
  });
});
