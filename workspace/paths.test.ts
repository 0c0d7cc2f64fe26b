import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { refusal } from "../test/support/refusal";
import { resolveInside } from "./paths";

describe("resolveInside", () => {
  let base: string;
  let root: string;
  let outside: string;

  beforeAll(async () => {
    base = await realpath(await mkdtemp(join(tmpdir(), "kiln-paths-")));
    root = join(base, "project");
    outside = join(base, "outside");
    await mkdir(join(root, "src/real"), { recursive: true });
    await mkdir(outside);
    await writeFile(join(outside, "secret.txt"), "secret");
    await writeFile(join(root, "src/real/file.txt"), "inside");
    await symlink(outside, join(root, "dir-out"));
    await symlink(join(outside, "secret.txt"), join(root, "file-out"));
    await symlink("../../outside/secret.txt", join(root, "src/relative-out"));
    await symlink("../outside/not-yet", join(root, "dangling-out"));
    await symlink("real/file.txt", join(root, "src/link-in"));
    await symlink("src/real", join(root, "dir-in"));
    await symlink("not-yet-written", join(root, "dangling-in"));
    await symlink("loop-b", join(root, "loop-a"));
    await symlink("loop-a", join(root, "loop-b"));
  });

  afterAll(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it("resolves plain paths, missing tails and the root", async () => {
    expect(await resolveInside(root, "src/real/file.txt")).toBe(join(root, "src/real/file.txt"));
    expect(await resolveInside(root, "src/new/dir/file.txt")).toBe(join(root, "src/new/dir/file.txt"));
    expect(await resolveInside(root, "")).toBe(root);
  });

  it("follows symlinks that stay inside, dangling ones included", async () => {
    expect(await resolveInside(root, "src/link-in")).toBe(join(root, "src/real/file.txt"));
    expect(await resolveInside(root, "dir-in/file.txt")).toBe(join(root, "src/real/file.txt"));
    expect(await resolveInside(root, "dangling-in")).toBe(join(root, "not-yet-written"));
  });

  it.each([
    ["a symlink to a directory outside", "dir-out"],
    ["a file below a symlinked directory outside", "dir-out/secret.txt"],
    ["a new file below a symlinked directory outside", "dir-out/new.txt"],
    ["a symlink to a file outside", "file-out"],
    ["a relative symlink climbing out", "src/relative-out"],
    ["a dangling symlink pointing outside", "dangling-out"],
  ])("refuses %s, naming the path", async (_why, path) => {
    const err = await refusal(() => resolveInside(root, path, { field: "paths[2]" }));
    expect(err.message).toBe(`paths[2]: path ${JSON.stringify(path)} resolves through a symlink to outside the project root`);
  });

  it("acts on the link itself when the last segment is not followed", async () => {
    expect(await resolveInside(root, "file-out", { followLast: false })).toBe(join(root, "file-out"));
    await refusal(() => resolveInside(root, "dir-out/secret.txt", { followLast: false }));
  });

  it("refuses a symlink loop and hostile paths before touching the disk", async () => {
    expect((await refusal(() => resolveInside(root, "loop-a"))).message).toContain("symlink loop");
    await refusal(() => resolveInside(root, "../outside/secret.txt"));
    await refusal(() => resolveInside(root, "/etc/passwd"));
  });
});
