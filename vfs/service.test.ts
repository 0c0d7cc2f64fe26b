import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { notFound } from "../lib/errors";
import { newId } from "../lib/ids";
import { createPinoLogger } from "../lib/log";
import type { AuthData } from "../lib/routes";
import type { Project, ProjectsApi } from "../projects/contract";
import { startTestMongo, type TestMongo } from "../test/support/mongo";
import type { VfsApi } from "./contract";
import { createVfsService, STAND_IN_WARNING } from "./service";

let mongo: TestMongo;
let vfs: VfsApi;
const alice: AuthData = { userID: "usr_alice" };
const bob: AuthData = { userID: "usr_bob" };
const owners = new Map<string, string>();

/** These tests never touch a sandbox or make a project (test/backup.test.ts and test/versions.test.ts do). */
const noSandbox = async (): Promise<never> => {
  throw new Error("not used in this test");
};

/** The projects service as the vfs sees it: a project is found only by its owner. */
const projects: Pick<ProjectsApi, "get" | "create" | "recordActivity" | "del"> = {
  async get({ id }, auth) {
    if (owners.get(id) !== auth.userID) throw notFound("project", id);
    return { id } as Project;
  },
  create: noSandbox,
  recordActivity: noSandbox,
  del: noSandbox,
};

function aliceProject(): string {
  const id = newId("prj");
  owners.set(id, alice.userID);
  return id;
}

const b64 = (text: string) => Buffer.from(text).toString("base64");

const workspace = { listFiles: noSandbox, readFiles: noSandbox, writeFiles: noSandbox, get: noSandbox, start: noSandbox, create: noSandbox, deleteFiles: noSandbox, del: noSandbox, exec: noSandbox };

beforeAll(async () => {
  mongo = await startTestMongo();
  vfs = createVfsService({ mongo: mongo.db, projects, workspace, log: createPinoLogger("silent"), limits: { maxFileBytes: 1024 * 1024 } });
});
afterAll(async () => {
  await mongo?.close();
});

describe("the vfs service", () => {
  it("round-trips base64 content through the contract", async () => {
    const projectId = aliceProject();
    const written = await vfs.writeFiles({ projectId, files: [{ path: "./src//main.ts", contentBase64: b64("main"), mode: 0o755 }], jobId: "job_1", turn: 0 }, alice);
    expect(written.files[0]).toMatchObject({ path: "src/main.ts", unchanged: false });
    const read = await vfs.readFile({ projectId, path: "src/main.ts" }, alice);
    expect(read).toMatchObject({ path: "src/main.ts", contentBase64: b64("main"), mode: 0o755, size: 4, revision: 1 });
    expect((await vfs.fileHistory({ projectId, path: "src/main.ts" }, alice)).entries[0]).toMatchObject({ jobId: "job_1", turn: 0 });
  });

  it("answers another user's project with the projects service's not_found, before touching anything", async () => {
    const projectId = aliceProject();
    await vfs.writeFiles({ projectId, files: [{ path: "secret.txt", contentBase64: b64("s") }] }, alice);
    const denied = { code: "not_found", message: `project "${projectId}" not found` };
    await expect(vfs.readFile({ projectId, path: "secret.txt" }, bob)).rejects.toMatchObject(denied);
    await expect(vfs.listFiles({ projectId }, bob)).rejects.toMatchObject(denied);
    await expect(vfs.writeFiles({ projectId, files: [{ path: "secret.txt", contentBase64: b64("mine") }] }, bob)).rejects.toMatchObject(denied);
    await expect(vfs.deleteFiles({ projectId, paths: ["secret.txt"] }, bob)).rejects.toMatchObject(denied);
    await expect(vfs.listSnapshots({ projectId }, bob)).rejects.toMatchObject(denied);
    expect(Buffer.from((await vfs.readFile({ projectId, path: "secret.txt" }, alice)).contentBase64, "base64").toString()).toBe("s");
  });

  it.each([
    ["../etc/passwd", 'files[0].path: path "../etc/passwd" contains a .. segment'],
    ["src/../../x", 'files[0].path: path "src/../../x" contains a .. segment'],
    ["/etc/passwd", 'files[0].path: path "/etc/passwd" is absolute; paths are relative to the project root'],
    ["", "files[0].path: must not be empty"],
    ["./", 'files[0].path: path "./" names the project root; a file or directory path is needed'],
    ["a\0b", 'files[0].path: path "a\\u0000b" contains a NUL byte'],
    ["a\nb", 'files[0].path: path "a\\nb" contains a control character'],
    ["src\\win.ts", 'files[0].path: path "src\\\\win.ts" contains a backslash; use / between segments'],
    ["x".repeat(1025), `files[0].path: "${"x".repeat(200)}…" is longer than 1024 bytes`],
    ["%2e%2e/x", 'files[0].path: path "%2e%2e/x" is percent-encoded and decodes to a path that contains a .. segment'],
  ])("refuses the path %j with invalid_argument naming the field and the path", async (path, message) => {
    const projectId = aliceProject();
    await expect(vfs.writeFiles({ projectId, files: [{ path, contentBase64: b64("x") }] }, alice)).rejects.toMatchObject({
      code: "invalid_argument",
      message,
    });
  });

  it("refuses traversal in reads, listings, deletes and renames too", async () => {
    const projectId = aliceProject();
    const invalid = { code: "invalid_argument" };
    await expect(vfs.readFile({ projectId, path: "../x" }, alice)).rejects.toMatchObject({ ...invalid, message: 'path: path "../x" contains a .. segment' });
    await expect(vfs.listFiles({ projectId, prefix: "/abs" }, alice)).rejects.toMatchObject(invalid);
    await expect(vfs.deleteFiles({ projectId, paths: ["ok", "a/../.."] }, alice)).rejects.toMatchObject({ ...invalid, message: 'paths[1]: path "a/../.." contains a .. segment' });
    await expect(vfs.renamePath({ projectId, from: "a", to: "../b" }, alice)).rejects.toMatchObject({ ...invalid, message: 'to: path "../b" contains a .. segment' });
  });

  it("refuses oversize files naming the limit, bad base64, bad modes and duplicate paths", async () => {
    const projectId = aliceProject();
    const big = Buffer.alloc(1024 * 1024 + 1).toString("base64");
    await expect(vfs.writeFiles({ projectId, files: [{ path: "big.bin", contentBase64: big }] }, alice)).rejects.toMatchObject({
      code: "invalid_argument",
      message: 'files[0].contentBase64: "big.bin" is 1048577 bytes, over the limit of 1 MiB (1048576 bytes) per file',
    });
    const cases: [unknown, string][] = [
      [[{ path: "a", contentBase64: "not base64!" }], 'files[0].contentBase64: of "a" is not valid base64'],
      [[{ path: "a", contentBase64: b64("a"), mode: 0o10000 }], "files[0].mode: must be an integer from 0 to 4095"],
      [[{ path: "a", contentBase64: b64("a") }, { path: "./a", contentBase64: b64("b") }], 'files[1].path: "a" appears more than once'],
      [[], "files: must list at least one file"],
      [[{ path: "a" }], "files[0].contentBase64: must be a base64 string"],
    ];
    for (const [files, message] of cases) {
      await expect(vfs.writeFiles({ projectId, files: files as never }, alice)).rejects.toMatchObject({ code: "invalid_argument", message });
    }
    expect((await vfs.listFiles({ projectId }, alice)).files).toEqual([]);
  });

  it("reports in its health whether files are durable: the in-memory stand-in is not", async () => {
    const health = await vfs.health();
    if (mongo.fake) expect(health).toMatchObject({ status: "degraded", checks: [{ name: "mongodb", status: "warn", detail: STAND_IN_WARNING }] });
    else expect(health).toMatchObject({ status: "ok", checks: [{ name: "mongodb", status: "ok" }] });
  });

  it("says clearly when MongoDB is not configured, and when it is unreachable", async () => {
    const unconfigured = createVfsService({ mongo: null, projects, workspace, log: createPinoLogger("silent") });
    const projectId = aliceProject();
    await expect(unconfigured.listFiles({ projectId }, alice)).rejects.toMatchObject({
      code: "unavailable",
      message: "the vfs is not configured: set MONGODB_URI to a MongoDB server",
    });
    expect((await unconfigured.health()).checks[0]).toMatchObject({ name: "mongodb", status: "fail", detail: "MONGODB_URI is not set" });
    if (!mongo.fake) return;
    await mongo.fake.stop();
    try {
      await expect(vfs.listFiles({ projectId }, alice)).rejects.toMatchObject({ code: "unavailable" });
    } finally {
      await mongo.fake.restart();
    }
    expect((await vfs.listFiles({ projectId }, alice)).files).toEqual([]);
  });

  it("keeps a project's thumbnail for its owner only, refuses anything but a PNG, and spares its blob from sweeps and loses it to a purge", async () => {
    const projectId = aliceProject();
    // The smallest valid PNG: signature, IHDR, IDAT, IEND (1×1).
    const png = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", "base64");
    for (const [pngBase64, expected] of [
      [b64("GIF89a not a png at all, just some bytes here"), /must be a PNG image/],
      ["@@not base64@@", /must be base64/],
      ["", /pngBase64: must not be empty/],
      [42, /pngBase64: must be a string/],
    ] as const) {
      await expect(vfs.saveThumbnail({ projectId, pngBase64: pngBase64 as string }, alice)).rejects.toMatchObject({ code: "invalid_argument", message: expect.stringMatching(expected) });
    }
    await expect(vfs.thumbnail({ projectId }, alice)).rejects.toMatchObject({ code: "not_found", message: expect.stringContaining("has no thumbnail yet") });
    await expect(vfs.saveThumbnail({ projectId, pngBase64: png.toString("base64") }, bob)).rejects.toMatchObject({ code: "not_found" });
    const saved = await vfs.saveThumbnail({ projectId, jobId: "job_1", pngBase64: png.toString("base64") }, alice);
    expect(saved.size).toBe(png.length);
    await expect(vfs.thumbnail({ projectId }, bob)).rejects.toMatchObject({ code: "not_found" });
    expect((await vfs.sweep({ projectId, olderThanSeconds: 0 })).deletedBlobs).toBe(0);
    const read = await vfs.thumbnail({ projectId }, alice);
    expect(Buffer.from(read.pngBase64, "base64").equals(png)).toBe(true);
    expect(read.sha256).toBe(saved.sha256);
    await vfs.purgeProject({ projectId });
    await expect(vfs.thumbnail({ projectId }, alice)).rejects.toMatchObject({ code: "not_found" });
  });
});
