import { createHash, randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ProjectsApi } from "../projects/contract";
import type { Version, VfsApi } from "../vfs/contract";
import type { WorkspaceApi } from "../workspace/contract";
import { startGitServer, type TestGitServer } from "./support/git-server";
import { client, type TestClient } from "./support/http";
import { runningWorkspace, startTestKiln, type TestKiln } from "./support/kiln";
import { startTestMongo, type TestMongo } from "./support/mongo";

const TOKEN = `kiln-test-token-${randomBytes(12).toString("hex")}`;
const MAX_FILES = 20;
const MAX_BYTES = 200_000;
/** git run by the test itself, to craft repositories: no config of the machine's. */
const GIT_ENV = { GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: "/dev/null", PATH: process.env.PATH, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@t", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@t" };

let mongo: TestMongo;
let kiln: TestKiln;
let git: TestGitServer;
let alice: TestClient;
let bob: TestClient;
let aliceAuth: { userID: string };
/** Every response body Kiln sent in this file, scanned for the token at the end. */
const seen: string[] = [];

const impl = <T>(name: string) => kiln.kiln.services.find((s) => s.name === name)!.impl as T;
const b64 = (bytes: string | Buffer) => Buffer.from(bytes).toString("base64");
const sha = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

beforeAll(async () => {
  mongo = await startTestMongo();
  kiln = await startTestKiln({ MONGODB_URI: mongo.uri, KILN_MONGODB_DATABASE: mongo.databaseName, KILN_GIT_IMPORT_MAX_FILES: String(MAX_FILES), KILN_GIT_IMPORT_MAX_BYTES: String(MAX_BYTES) });
  git = await startGitServer(TOKEN);
  const a = await kiln.createUser("alice");
  aliceAuth = { userID: a.userID };
  alice = client(kiln.url, a.token, seen);
  bob = client(kiln.url, (await kiln.createUser("bob")).token, seen);
}, 60_000);
afterAll(async () => {
  await git?.close();
  await kiln?.close();
  await mongo?.close();
});

const LOGO = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 255, 0, 7, 0x0d, 0x0a]);
const FILES = [
  { path: "index.html", contentBase64: b64("<h1>Hi</h1>\n") },
  { path: "src/app.ts", contentBase64: b64("export const a = 1;\r\nno newline at end") },
  { path: "public/logo.png", contentBase64: b64(LOGO) },
  { path: "scripts/run.sh", contentBase64: b64("#!/bin/sh\necho hi\n"), mode: 0o755 },
  { path: "docs/with space ü.md", contentBase64: b64("# ü\n") },
];

/** A version of alice's made as a generation makes one: files in the sandbox, backed up, marked. */
async function versionOf(files: typeof FILES, prompt: string): Promise<{ projectId: string; version: Version }> {
  const projects = impl<ProjectsApi>("projects");
  const workspace = impl<WorkspaceApi>("workspace");
  const vfs = impl<VfsApi>("vfs");
  const projectId = (await projects.create({ name: "Pushed", template: "blank" }, aliceAuth)).id;
  const ws = await runningWorkspace(workspace, projectId);
  await projects.recordActivity({ id: projectId, workspaceId: ws.id });
  await workspace.writeFiles({ id: ws.id, files });
  await vfs.backupWorkspace({ projectId, workspaceId: ws.id, jobId: "job_git", label: "job job_git" }, aliceAuth);
  return { projectId, version: await vfs.recordVersion({ projectId, jobId: "job_git", prompt, status: "completed" }, aliceAuth) };
}

/** A version's files as "path mode sha256", sorted. */
async function filesOf(c: TestClient, projectId: string, versionId: string): Promise<string[]> {
  const got = await c.call("GET", `/vfs/${projectId}/versions/${versionId}`);
  expect(got.status).toBe(200);
  return got.body.files.map((f: { path: string; mode: number; sha256: string }) => `${f.path} ${f.mode.toString(8)} ${f.sha256}`).sort();
}

describe("git import and export over HTTP", () => {
  it("round trip: a pushed version imported as a new project has the same files, byte for byte", async () => {
    const { projectId, version } = await versionOf(FILES, "Make a page with a logo");
    const remote = git.emptyRepository("roundtrip");
    const pushed = await alice.call("POST", `/vfs/${projectId}/versions/${version.id}/push`, { url: remote, token: TOKEN });
    expect(pushed.status, pushed.text).toBe(200);
    expect(pushed.body).toMatchObject({ branch: "main", url: remote, files: FILES.length });
    expect(git.git("roundtrip", "rev-parse", "refs/heads/main").trim()).toBe(pushed.body.commit);
    expect(git.git("roundtrip", "log", "-1", "--format=%an|%cn|%B", "main").trim()).toBe("Kiln|Kiln|Make a page with a logo");
    expect(git.git("roundtrip", "ls-tree", "-r", "-z", "--name-only", "main").split("\0").filter(Boolean).sort()).toEqual(FILES.map((f) => f.path).sort());

    const imported = await alice.call("POST", "/vfs/git/import", { url: remote });
    expect(imported.status, imported.text).toBe(200);
    expect(imported.body.project).toMatchObject({ name: "roundtrip", template: "blank" });
    expect(imported.body.version).toMatchObject({ kind: "import", status: "completed", summary: `Imported from ${remote}`, fileCount: FILES.length });
    expect(imported.body.skipped).toEqual([]);
    const original = await filesOf(alice, projectId, version.id);
    expect(await filesOf(alice, imported.body.project.id, imported.body.version.id)).toEqual(original);
    expect(original).toContain(`public/logo.png 644 ${sha(LOGO)}`);
    expect(original.some((line) => line.startsWith("scripts/run.sh 755 "))).toBe(true);
    // The imported project's sandbox holds them too, without the clone's .git.
    const workspace = impl<WorkspaceApi>("workspace");
    const listing = await workspace.listFiles({ id: imported.body.project.workspaceId, hashes: true });
    expect(listing.files.filter((f) => !f.isDir).map((f) => f.path).sort()).toEqual(FILES.map((f) => f.path).sort());
    const dotGit = await workspace.exec({ id: imported.body.project.workspaceId, command: "test -e .git && echo present || echo absent" });
    expect(dotGit.stdout.trim()).toBe("absent");

    // A second push lands on top of the first (a fast-forward, never a force push).
    const next = await versionOf([...FILES, { path: "new.txt", contentBase64: b64("new\n") }], "Add a file");
    const again = await alice.call("POST", `/vfs/${next.projectId}/versions/${next.version.id}/push`, { url: remote, token: TOKEN });
    expect(again.status, again.text).toBe(200);
    expect(git.git("roundtrip", "rev-parse", "main^").trim()).toBe(pushed.body.commit);
  }, 120_000);

  it("refuses a repository over the file or size limit, naming the limit, and leaves no project behind", async () => {
    const many = git.createRepository("many", (dir) => {
      for (let i = 0; i <= MAX_FILES; i++) writeFileSync(join(dir, `f${i}.txt`), `${i}\n`);
    });
    const big = git.createRepository("big", (dir) => writeFileSync(join(dir, "blob.bin"), randomBytes(MAX_BYTES + 50_000)));
    const compressible = git.createRepository("zeros", (dir) => writeFileSync(join(dir, "zeros.bin"), Buffer.alloc(MAX_BYTES + 1)));
    const before = (await alice.call("GET", "/projects")).body.projects.length;
    const tooMany = await alice.call("POST", "/vfs/git/import", { url: many });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.message).toContain(`holds ${MAX_FILES + 1} files, over the import limit of ${MAX_FILES} files (KILN_GIT_IMPORT_MAX_FILES)`);
    const tooBig = await alice.call("POST", "/vfs/git/import", { url: big });
    expect(tooBig.status).toBe(400);
    expect(tooBig.body.message).toBe(`url: the repository's download is over the import limit of ${MAX_BYTES} bytes (KILN_GIT_IMPORT_MAX_BYTES)`);
    // A small download that expands past the limit (a zip bomb) is refused before it is checked out.
    const bomb = await alice.call("POST", "/vfs/git/import", { url: compressible });
    expect(bomb.status).toBe(400);
    expect(bomb.body.message).toBe(`url: the repository's files are ${MAX_BYTES + 1} bytes, over the import limit of ${MAX_BYTES} bytes (KILN_GIT_IMPORT_MAX_BYTES)`);
    expect((await alice.call("GET", "/projects")).body.projects.length).toBe(before);
  }, 120_000);

  it("imports a hostile repository without letting a symlink, a hook or a submodule reach anything", async () => {
    const hostile = git.createRepository("hostile", (dir) => {
      writeFileSync(join(dir, "ok.txt"), "fine\n");
      symlinkSync("/etc/passwd", join(dir, "passwd"));
      symlinkSync("../../../..", join(dir, "up"));
      mkdirSync(join(dir, "hooks"));
      writeFileSync(join(dir, "hooks", "post-checkout"), "#!/bin/sh\ntouch /workspace/PWNED\n");
      chmodSync(join(dir, "hooks", "post-checkout"), 0o755);
      writeFileSync(join(dir, ".gitmodules"), '[submodule "x"]\n\tpath = x\n\turl = file:///etc\n[submodule "y"]\n\tpath = y\n\turl = ext::sh -c touch% /workspace/PWNED\n');
      // A real submodule entry (a gitlink: an embedded repository) whose URL above is ext::: never fetched.
      execFileSync("git", ["init", "-q", join(dir, "y")], { env: GIT_ENV });
      execFileSync("git", ["-C", join(dir, "y"), "commit", "-q", "--allow-empty", "-m", "sub"], { env: GIT_ENV });
    });
    const imported = await alice.call("POST", "/vfs/git/import", { url: hostile, name: "Hostile" });
    expect(imported.status, imported.text).toBe(200);
    expect(imported.body.skipped).toEqual(["passwd", "up", "y"]);
    const files = (await filesOf(alice, imported.body.project.id, imported.body.version.id)).map((line) => line.split(" ")[0]);
    expect(files).toEqual([".gitmodules", "hooks/post-checkout", "ok.txt"]);
    const workspace = impl<WorkspaceApi>("workspace");
    const look = await workspace.exec({ id: imported.body.project.workspaceId, command: "ls -A; test -e PWNED && echo pwned || true" });
    expect(look.stdout.split("\n").filter(Boolean).sort()).toEqual([".gitmodules", "hooks", "ok.txt"]);
  }, 120_000);

  it("refuses a repository whose tree holds a .git path, touching nothing", async () => {
    const url = git.createRepository("dotgit", (dir) => writeFileSync(join(dir, "ok.txt"), "ok\n"));
    // A tree with a `.git/hooks/post-checkout` entry, made with git's plumbing (git add never writes one).
    const plumb = (input: string, ...args: string[]) => execFileSync("git", [`--git-dir=${join(git.root, "dotgit.git")}`, ...args], { input, env: GIT_ENV }).toString().trim();
    const hook = plumb("#!/bin/sh\ntouch /workspace/PWNED\n", "hash-object", "-w", "--stdin");
    const hooks = plumb(`100755 blob ${hook}\tpost-checkout\n`, "mktree");
    const dotgit = plumb(`040000 tree ${hooks}\thooks\n`, "mktree");
    const root = plumb(`040000 tree ${dotgit}\t.git\n100644 blob ${plumb("", "rev-parse", "main:ok.txt")}\tok.txt\n`, "mktree");
    const commit = plumb("dot git\n", "commit-tree", root);
    git.git("dotgit", "update-ref", "refs/heads/main", commit);
    const before = (await alice.call("GET", "/projects")).body.projects.length;
    const refused = await alice.call("POST", "/vfs/git/import", { url });
    expect(refused.status).toBe(400);
    expect(refused.body.message).toMatch(/^git could not clone .*dotgit\.git: .*\.git/);
    expect((await alice.call("GET", "/projects")).body.projects.length).toBe(before);
  }, 120_000);

  it("imports a private repository with a token given for that import only, which it keeps nowhere", async () => {
    const url = git.createRepository("private-app", (dir) => writeFileSync(join(dir, "secret.txt"), "only for the owner\n"));
    const without = await alice.call("POST", "/vfs/git/import", { url });
    expect(without.status).toBe(400);
    expect(without.body.message).toContain("git could not clone");
    const wrong = await alice.call("POST", "/vfs/git/import", { url, token: `${TOKEN}-wrong` });
    expect(wrong.status).toBe(400);
    expect(wrong.text).not.toContain(TOKEN);
    const imported = await alice.call("POST", "/vfs/git/import", { url, token: TOKEN });
    expect(imported.status, imported.text).toBe(200);
    const files = await filesOf(alice, imported.body.project.id, imported.body.version.id);
    expect(files.map((line) => line.split(" ")[0])).toEqual(["secret.txt"]);
    // Nothing in the sandbox holds it: no token file, no git config or remote URL (.git is gone), no file at all.
    const workspace = impl<WorkspaceApi>("workspace");
    const look = await workspace.exec({ id: imported.body.project.workspaceId, command: `ls -A; grep -rlF -- "$NEEDLE" . || true`, env: { NEEDLE: TOKEN } });
    expect(look.stdout.split("\n").filter(Boolean)).toEqual(["secret.txt"]);
    const project = await alice.call("GET", `/projects/${imported.body.project.id}`);
    expect(project.text).not.toContain(TOKEN);
    for (const bad of ["two words", "x".repeat(1001), 42]) {
      const refused = await alice.call("POST", "/vfs/git/import", { url, token: bad });
      expect(refused.status, String(bad)).toBe(400);
      expect(refused.body.message).toMatch(/^token: /);
    }
  }, 120_000);

  it("refuses an import or a push over the running limit per user with 429 naming the limit", async () => {
    const url = git.createRepository("concurrent", (dir) => writeFileSync(join(dir, "a.txt"), "a\n"));
    const answers = await Promise.all([1, 2, 3].map(() => alice.call("POST", "/vfs/git/import", { url })));
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([200, 200, 429]);
    const refused = answers.find((a) => a.status === 429)!;
    expect(refused.body.code).toBe("resource_exhausted");
    expect(refused.body.message).toContain("KILN_GIT_MAX_CONCURRENT_PER_OWNER");
    // Once they ended, the slots are free again.
    expect((await alice.call("POST", "/vfs/git/import", { url })).status).toBe(200);
  }, 120_000);

  it("answers bad input with a clear 4xx", async () => {
    const { projectId, version } = await versionOf(FILES.slice(0, 1), "One file");
    const push = (c: TestClient, body: Record<string, unknown>, id = projectId) => c.call("POST", `/vfs/${id}/versions/${version.id}/push`, body);
    const remote = git.emptyRepository("bad-input");

    expect((await push(bob, { url: remote, token: TOKEN })).status).toBe(404);
    expect((await push(alice, { url: remote }, "prj_nope")).status).toBe(404);
    for (const url of ["file:///etc", "ssh://git@example.com/x.git", "git://example.com/x.git", "git@github.com:o/r.git", "not a url", "https://"]) {
      const refused = await alice.call("POST", "/vfs/git/import", { url });
      expect(refused.status, url).toBe(400);
      expect(refused.body).toMatchObject({ code: "invalid_argument" });
      expect(refused.body.message).toMatch(/^url: /);
    }
    const withCredentials = await alice.call("POST", "/vfs/git/import", { url: "https://someone:hunter2@example.com/x.git" });
    expect(withCredentials.status).toBe(400);
    expect(withCredentials.text).not.toContain("hunter2");
    expect((await push(alice, { url: remote, branch: "../x" })).status).toBe(400);
    expect((await push(alice, { url: remote, token: "two\nlines" })).status).toBe(400);
    for (const [body, id, status, message] of [
      [{ url: "file:///etc" }, version.id, 400, "url: "],
      [{}, version.id, 400, "url: "],
      [{ url: remote }, "snp_missing", 404, 'version "snp_missing" not found'],
      [{ url: remote }, "not-an-id", 400, "versionId: "],
    ] as const) {
      const answer = await alice.call("POST", `/vfs/${projectId}/versions/${id}/push`, body);
      expect([id, JSON.stringify(body), answer.status]).toEqual([id, JSON.stringify(body), status]);
      expect(answer.body.message).toContain(message);
    }
    // Another project's version, named under this project, is not found.
    const other = await versionOf(FILES.slice(0, 1), "Elsewhere");
    expect((await alice.call("POST", `/vfs/${projectId}/versions/${other.version.id}/push`, { url: remote })).status).toBe(404);
    for (const name of ["  ", "n".repeat(101), 7]) {
      const refused = await alice.call("POST", "/vfs/git/import", { url: remote, name });
      expect([String(name), refused.status]).toEqual([String(name), 400]);
      expect(refused.body.message).toMatch(/^name: /);
    }
    expect((await alice.call("POST", "/vfs/git/import", {})).status).toBe(400);

    // A URL that answers nothing, and a repository that is not there, fail with git's words.
    const closed = await alice.call("POST", "/vfs/git/import", { url: `${git.url.replace(/:\d+$/, ":1")}/x.git` });
    expect(closed.status).toBe(400);
    expect(closed.body.message).toMatch(/^git could not clone http:\/\/.+:1\/x\.git: .*(Failed to connect|Could not connect|Connection refused)/);
    // The clone runs in the sandbox's network, which cannot reach the host's loopback: a server there is not found.
    git.createRepository("on-loopback", (dir) => writeFileSync(join(dir, "a.txt"), "a\n"));
    const loopback = await alice.call("POST", "/vfs/git/import", { url: `${git.loopbackUrl}/on-loopback.git` });
    expect(loopback.status).toBe(400);
    expect(loopback.body.message).toMatch(/^git could not clone http:\/\/127\.0\.0\.1:\d+\/on-loopback\.git: .*(Failed to connect|Could not connect|Connection refused)/);
    const empty = await alice.call("POST", "/vfs/git/import", { url: git.emptyRepository("empty") });
    expect(empty.status).toBe(400);
    expect(empty.body.message).toMatch(/empty\.git has no commits to import$/);
    const missing = await alice.call("POST", "/vfs/git/import", { url: `${git.url}/missing.git` });
    expect(missing.status).toBe(400);
    expect(missing.body.message).toContain("git could not clone");

    // A wrong token is refused by the remote; the refusal does not echo it.
    const wrong = await push(alice, { url: remote, token: `${TOKEN}-wrong` });
    expect(wrong.status).toBe(400);
    expect(wrong.body.message).toContain("git could not push");
    expect(wrong.text).not.toContain(TOKEN);
  }, 120_000);

  it("never lets the token into a response or a log line (the remote did receive it)", () => {
    expect(git.authorizations.some((h) => Buffer.from(h.split(" ")[1] ?? "", "base64").toString().endsWith(`:${TOKEN}`))).toBe(true);
    for (const text of seen) expect(text).not.toContain(TOKEN);
    expect(kiln.logText()).not.toContain(TOKEN);
    expect(kiln.logText()).not.toContain(b64(TOKEN).slice(0, 16));
  });
});
