import { randomBytes } from "node:crypto";
import type { Collection, Db, Document } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../lib/ids";
import { startTestMongo, type TestMongo } from "../test/support/mongo";
import { BlobStore, sha256Hex } from "./blobs";
import { BLOB_BUCKET, openCollections } from "./collections";
import { VfsStore, type NewFile } from "./store";

let mongo: TestMongo;
let store: VfsStore;

beforeAll(async () => {
  mongo = await startTestMongo();
  store = await VfsStore.open(mongo.db);
});
afterAll(async () => {
  await mongo?.close();
});

const file = (path: string, content: string | Buffer, mode = 0o644): NewFile => ({
  path,
  bytes: typeof content === "string" ? Buffer.from(content, "utf8") : content,
  mode,
});

async function bytesOf(projectId: string, path: string, revision?: number): Promise<Buffer> {
  return Buffer.from((await store.readFile(projectId, path, revision)).contentBase64, "base64");
}

async function paths(projectId: string): Promise<string[]> {
  return (await store.listFiles(projectId, "", true)).files.map((f) => f.path);
}

/** Chunks whose GridFS file document does not exist (left behind by a failed upload). */
async function strayChunks(): Promise<number> {
  const ids = new Set((await mongo.db.collection(`${BLOB_BUCKET}.files`).distinct("_id")).map(String));
  const owners = await mongo.db.collection(`${BLOB_BUCKET}.chunks`).distinct("files_id");
  return owners.filter((id) => !ids.has(String(id))).length;
}

const blobCount = (projectId: string) => mongo.db.collection(`${BLOB_BUCKET}.files`).countDocuments({ "metadata.projectId": projectId });

/** `db` whose `files` collection refuses the manifest update (bulkWrite), as if the process died there. */
function failingManifest(db: Db): Db {
  const failing = (collection: Collection<Document>) =>
    new Proxy(collection, {
      get(target, prop) {
        if (prop === "bulkWrite") return () => Promise.reject(new Error("injected: crashed before the manifest update"));
        const value = Reflect.get(target, prop);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  return new Proxy(db, {
    get(target, prop) {
      if (prop === "collection") return (name: string) => (name === "files" ? failing(target.collection(name)) : target.collection(name));
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

describe("indexes", () => {
  it("creates the lookups' indexes at start, the invariants as unique ones", async () => {
    const unique = async (collection: string) =>
      (await mongo.db.collection(collection).indexes()).filter((i) => i.unique).map((i) => i.name);
    expect(await unique("files")).toContain("project_path");
    expect(await unique(`${BLOB_BUCKET}.files`)).toContain("project_sha256");
    expect((await mongo.db.collection("revisions").indexes()).map((i) => i.name)).toEqual(
      expect.arrayContaining(["project_path_revision", "project_previous_path_revision"]),
    );
  });
});

describe("round trips", () => {
  it("returns text and binary files byte for byte, with hash, size and mode", async () => {
    const projectId = newId("prj");
    const binary = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(4096)]);
    const text = "export const greeting = \"héllo wörld ✓\";\r\n\0not really text\n";
    const result = await store.writeFiles(projectId, [file("src/greeting.ts", text), file("public/logo.png", binary, 0o600)], { jobId: "job_1", turn: 3 });
    expect(result).toMatchObject({ revision: 1, uploadedBlobs: 2 });
    expect(await bytesOf(projectId, "src/greeting.ts")).toEqual(Buffer.from(text, "utf8"));
    const logo = await store.readFile(projectId, "public/logo.png");
    expect(Buffer.from(logo.contentBase64, "base64").equals(binary)).toBe(true);
    expect(logo).toMatchObject({ sha256: sha256Hex(binary), size: binary.length, mode: 0o600, revision: 1 });
  });

  it("stores a file of more than 5 MB across many GridFS chunks and reads it back intact", async () => {
    const projectId = newId("prj");
    const big = randomBytes(5 * 1024 * 1024 + 12_345);
    await store.writeFiles(projectId, [file("assets/video.bin", big)], {});
    const [blob] = await mongo.db.collection(`${BLOB_BUCKET}.files`).find({ "metadata.projectId": projectId }).toArray();
    expect(blob!.metadata).toMatchObject({ projectId, sha256: sha256Hex(big), size: big.length });
    const chunks = await mongo.db.collection(`${BLOB_BUCKET}.chunks`).countDocuments({ files_id: blob!._id });
    expect(chunks).toBe(Math.ceil(big.length / blob!.chunkSize));
    expect(chunks).toBeGreaterThan(20);
    expect((await bytesOf(projectId, "assets/video.bin")).equals(big)).toBe(true);
  });
});

describe("content addressing", () => {
  it("stores identical content once, skips unchanged files and never uploads a stored blob again", async () => {
    const projectId = newId("prj");
    const first = await store.writeFiles(projectId, [file("a.txt", "same"), file("b/c.txt", "same")], {});
    expect(first.uploadedBlobs).toBe(1);
    expect(await blobCount(projectId)).toBe(1);

    const again = await store.writeFiles(projectId, [file("a.txt", "same"), file("d.txt", "same")], {});
    expect(again.revision).toBe(2);
    expect(again.uploadedBlobs).toBe(0);
    expect(again.files.map((f) => [f.path, f.unchanged])).toEqual([["a.txt", true], ["d.txt", false]]);
    expect(await blobCount(projectId)).toBe(1);

    const unchanged = await store.writeFiles(projectId, [file("a.txt", "same")], {});
    expect(unchanged).toMatchObject({ revision: null, uploadedBlobs: 0 });
    // Another project with the same content has a blob of its own.
    const other = newId("prj");
    expect((await store.writeFiles(other, [file("a.txt", "same")], {})).uploadedBlobs).toBe(1);
  });

  it("answers a concurrent write of the same new content with one blob", async () => {
    const projectId = newId("prj");
    const content = randomBytes(300_000);
    await Promise.all([store.writeFiles(projectId, [file("x.bin", content)], {}), store.writeFiles(projectId, [file("y.bin", content)], {})]);
    expect(await blobCount(projectId)).toBe(1);
    expect(await strayChunks()).toBe(0);
    expect((await bytesOf(projectId, "y.bin")).equals(content)).toBe(true);
  });
});

describe("revisions and history", () => {
  it("records every write, delete and rename with its job and turn, and reads any path at any revision", async () => {
    const projectId = newId("prj");
    await store.writeFiles(projectId, [file("app.ts", "v1")], { jobId: "job_a", turn: 1 });
    await store.writeFiles(projectId, [file("app.ts", "v2")], { jobId: "job_a", turn: 2 });
    await store.deleteFiles(projectId, ["app.ts"], { jobId: "job_b" });
    await store.writeFiles(projectId, [file("app.ts", "v3")], {});
    await store.renamePath(projectId, "app.ts", "main.ts", { turn: 7 });

    const history = await store.fileHistory(projectId, "app.ts", 100);
    expect(history.map((e) => [e.revision, e.action, e.path, e.previousPath, e.jobId, e.turn])).toEqual([
      [5, "rename", "main.ts", "app.ts", null, 7],
      [4, "write", "app.ts", null, null, null],
      [3, "delete", "app.ts", null, "job_b", null],
      [2, "write", "app.ts", null, "job_a", 2],
      [1, "write", "app.ts", null, "job_a", 1],
    ]);
    expect(history[1]!.sha256).toBe(sha256Hex(Buffer.from("v3")));
    expect(history[2]!.sha256).toBeNull();

    expect((await bytesOf(projectId, "app.ts", 1)).toString()).toBe("v1");
    expect((await bytesOf(projectId, "app.ts", 2)).toString()).toBe("v2");
    await expect(store.readFile(projectId, "app.ts", 3)).rejects.toMatchObject({ code: "not_found" });
    expect((await bytesOf(projectId, "app.ts", 4)).toString()).toBe("v3");
    await expect(store.readFile(projectId, "app.ts", 5)).rejects.toMatchObject({ code: "not_found" });
    await expect(store.readFile(projectId, "app.ts")).rejects.toMatchObject({ code: "not_found", message: 'file "app.ts" not found' });
    expect((await bytesOf(projectId, "main.ts")).toString()).toBe("v3");
    expect((await bytesOf(projectId, "main.ts", 5)).toString()).toBe("v3");
    await expect(store.readFile(projectId, "main.ts", 4)).rejects.toMatchObject({ code: "not_found" });
    expect((await store.readFile(projectId, "main.ts")).revision).toBe(5);
  });
});

describe("directories by prefix", () => {
  const layout = ["src/a.ts", "src/b/c.ts", "src2/x.ts", "src.ts", "srcs/y.ts", "lib/keep.ts"];

  it("deletes a directory and everything under it, never a sibling that shares its first letters", async () => {
    const projectId = newId("prj");
    await store.writeFiles(projectId, layout.map((p) => file(p, p)), {});
    const result = await store.deleteFiles(projectId, ["src"], { jobId: "job_1" });
    expect(result).toEqual({ revision: 2, paths: ["src/a.ts", "src/b/c.ts"] });
    expect(await paths(projectId)).toEqual(["lib/keep.ts", "src.ts", "src2/x.ts", "srcs/y.ts"]);
    expect(await store.deleteFiles(projectId, ["src", "nothing/here"], {})).toEqual({ revision: null, paths: [] });
  });

  it("renames a directory with everything under it, leaving look-alike siblings where they are", async () => {
    const projectId = newId("prj");
    await store.writeFiles(projectId, layout.map((p) => file(p, p)), {});
    const result = await store.renamePath(projectId, "src", "app/source", {});
    expect(result.paths).toEqual(["app/source/a.ts", "app/source/b/c.ts"]);
    expect(await paths(projectId)).toEqual(["app/source/a.ts", "app/source/b/c.ts", "lib/keep.ts", "src.ts", "src2/x.ts", "srcs/y.ts"]);
    expect((await bytesOf(projectId, "app/source/b/c.ts")).toString()).toBe("src/b/c.ts");
    expect(await blobCount(projectId)).toBe(layout.length);
  });

  it("refuses a rename onto an existing path, into itself, or of nothing", async () => {
    const projectId = newId("prj");
    await store.writeFiles(projectId, layout.map((p) => file(p, p)), {});
    await expect(store.renamePath(projectId, "src2/x.ts", "src.ts", {})).rejects.toMatchObject({ code: "already_exists" });
    await expect(store.renamePath(projectId, "src", "lib", {})).rejects.toMatchObject({ code: "already_exists" });
    await expect(store.renamePath(projectId, "src2/x.ts", "src.ts/x.ts", {})).rejects.toMatchObject({ code: "already_exists" });
    await expect(store.renamePath(projectId, "src", "src/inner", {})).rejects.toMatchObject({ code: "invalid_argument" });
    await expect(store.renamePath(projectId, "missing", "elsewhere", {})).rejects.toMatchObject({ code: "not_found" });
    expect(await paths(projectId)).toEqual([...layout].sort());
  });

  it("refuses a write that would make a file and a directory share a name", async () => {
    const projectId = newId("prj");
    await store.writeFiles(projectId, layout.map((p) => file(p, p)), {});
    await expect(store.writeFiles(projectId, [file("src", "x")], {})).rejects.toMatchObject({ code: "already_exists" });
    await expect(store.writeFiles(projectId, [file("src.ts/inner.ts", "x")], {})).rejects.toMatchObject({ code: "already_exists" });
    await expect(store.writeFiles(projectId, [file("new", "x"), file("new/inner", "y")], {})).rejects.toMatchObject({ code: "already_exists" });
  });

  it("lists one level: direct files and subdirectory names", async () => {
    const projectId = newId("prj");
    await store.writeFiles(projectId, layout.map((p) => file(p, p)), {});
    const root = await store.listFiles(projectId, "", false);
    expect(root.files.map((f) => f.path)).toEqual(["src.ts"]);
    expect(root.directories).toEqual(["lib", "src", "src2", "srcs"]);
    const src = await store.listFiles(projectId, "src", false);
    expect(src).toMatchObject({ files: [{ path: "src/a.ts" }], directories: ["src/b"] });
    expect((await store.listFiles(projectId, "src", true)).files.map((f) => f.path)).toEqual(["src/a.ts", "src/b/c.ts"]);
  });
});

describe("snapshots", () => {
  it("records manifests labelled with job and turn, lists them newest first and diffs two of them", async () => {
    const projectId = newId("prj");
    await store.writeFiles(projectId, [file("a.ts", "a"), file("b.ts", "b"), file("c.ts", "c")], {});
    const first = await store.createSnapshot(projectId, { jobId: "job_1", turn: 1, label: "first" });
    expect(first).toMatchObject({ revision: 1, jobId: "job_1", turn: 1, label: "first", fileCount: 3, totalBytes: 3 });

    await store.writeFiles(projectId, [file("b.ts", "b2"), file("d.ts", "d"), file("c.ts", "c", 0o755)], {});
    await store.deleteFiles(projectId, ["a.ts"], {});
    const second = await store.createSnapshot(projectId, { jobId: "job_1", turn: 2 });

    expect((await store.listSnapshots(projectId, 10)).map((s) => s.id)).toEqual([second.id, first.id]);
    const manifest = await store.getSnapshot(projectId, first.id);
    expect(manifest.files).toEqual([
      { path: "a.ts", sha256: sha256Hex(Buffer.from("a")), size: 1, mode: 0o644 },
      { path: "b.ts", sha256: sha256Hex(Buffer.from("b")), size: 1, mode: 0o644 },
      { path: "c.ts", sha256: sha256Hex(Buffer.from("c")), size: 1, mode: 0o644 },
    ]);
    expect(await store.diffSnapshots(projectId, first.id, second.id)).toEqual({ added: ["d.ts"], changed: ["b.ts", "c.ts"], removed: ["a.ts"] });
    await expect(store.getSnapshot(newId("prj"), first.id)).rejects.toMatchObject({ code: "not_found" });
  });
});

describe("failures and garbage", () => {
  it("keeps the previous version readable when the manifest update fails after the upload", async () => {
    const projectId = newId("prj");
    await store.writeFiles(projectId, [file("index.html", "<h1>v1</h1>")], {});
    const crashing = await VfsStore.open(failingManifest(mongo.db));
    await expect(crashing.writeFiles(projectId, [file("index.html", "<h1>v2</h1>"), file("new.txt", "new")], {})).rejects.toThrow(
      "injected: crashed before the manifest update",
    );
    expect(await blobCount(projectId)).toBe(3);
    expect((await bytesOf(projectId, "index.html")).toString()).toBe("<h1>v1</h1>");
    expect(await paths(projectId)).toEqual(["index.html"]);
    expect((await store.fileHistory(projectId, "index.html", 10)).length).toBe(1);

    // The retry finds the blobs already stored and only updates the manifest.
    const retry = await store.writeFiles(projectId, [file("index.html", "<h1>v2</h1>"), file("new.txt", "new")], {});
    expect(retry.uploadedBlobs).toBe(0);
    expect((await bytesOf(projectId, "index.html")).toString()).toBe("<h1>v2</h1>");
  });

  it("sweeps only blobs that no file, revision or snapshot references, and spares recent ones", async () => {
    const projectId = newId("prj");
    await store.writeFiles(projectId, [file("kept.txt", "old"), file("doomed.txt", "gone soon")], {});
    await store.writeFiles(projectId, [file("kept.txt", "new")], {});
    await store.deleteFiles(projectId, ["doomed.txt"], {});
    const crashing = await VfsStore.open(failingManifest(mongo.db));
    await expect(crashing.writeFiles(projectId, [file("orphan.txt", "never referenced")], {})).rejects.toThrow("injected");
    expect(await blobCount(projectId)).toBe(4);

    const yesterday = new Date(Date.now() - 24 * 3600 * 1000);
    expect(await store.sweep(projectId, yesterday)).toEqual({ deletedBlobs: 0, deletedBytes: 0 });
    const now = new Date(Date.now() + 1000);
    expect(await store.sweep(projectId, now)).toEqual({ deletedBlobs: 1, deletedBytes: "never referenced".length });
    expect(await blobCount(projectId)).toBe(3);
    // Overwritten and deleted content stays: the revision log still points at it.
    expect((await bytesOf(projectId, "kept.txt", 1)).toString()).toBe("old");
    expect((await bytesOf(projectId, "doomed.txt", 2)).toString()).toBe("gone soon");
    expect(await store.sweep(undefined, now)).toEqual({ deletedBlobs: 0, deletedBytes: 0 });
  });

  it("lets a write that reuses an orphan win over a sweep that already chose it", async () => {
    const projectId = newId("prj");
    const blobs = new BlobStore(openCollections(mongo.db));
    const content = Buffer.from("orphan for now");
    await blobs.ensure(projectId, [{ sha256: sha256Hex(content), bytes: content }]);
    const [orphan] = await mongo.db.collection(`${BLOB_BUCKET}.files`).find({ "metadata.projectId": projectId }).toArray();
    await new Promise((resolve) => setTimeout(resolve, 5));
    const sweepCutoff = new Date();
    // The sweep picked the orphan as a candidate; now a write reuses it before the sweep deletes it.
    expect((await store.writeFiles(projectId, [file("reused.txt", content)], {})).uploadedBlobs).toBe(0);
    expect(await blobs.deleteIfUnused(orphan!._id, sweepCutoff)).toBe(false);
    expect((await bytesOf(projectId, "reused.txt")).equals(content)).toBe(true);
  });

  it("purges everything a project has, and nothing of another project", async () => {
    const projectId = newId("prj");
    const neighbour = newId("prj");
    await store.writeFiles(projectId, [file("a.txt", "a"), file("b.txt", "b")], {});
    await store.createSnapshot(projectId, {});
    await store.writeFiles(neighbour, [file("a.txt", "a")], {});
    expect(await store.purgeProject(projectId)).toEqual({ files: 2, revisions: 2, snapshots: 1, blobs: 2 });
    expect(await paths(projectId)).toEqual([]);
    expect(await blobCount(projectId)).toBe(0);
    expect(await mongo.db.collection(`${BLOB_BUCKET}.chunks`).countDocuments({})).toBeGreaterThan(0);
    expect((await bytesOf(neighbour, "a.txt")).toString()).toBe("a");
    expect((await store.writeFiles(projectId, [file("a.txt", "a")], {})).revision).toBe(1);
  });
});
