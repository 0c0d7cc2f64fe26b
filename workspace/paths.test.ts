import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppError } from "../lib/errors";
import { describePath, resolveInside, safeRelativePath, shellQuote } from "./paths";
import { HOSTILE_PATHS } from "./sandbox/hostile-paths";

/** The invalid_argument error `fn` throws (fails the test when it throws nothing or something else). */
async function refusal(fn: () => unknown): Promise<AppError> {
  try {
    await fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe("invalid_argument");
    return err as AppError;
  }
  throw new Error("expected an invalid_argument refusal, got none");
}

describe("safeRelativePath", () => {
  it.each(HOSTILE_PATHS)("refuses %s, naming the field and the path", async (_why, path) => {
    const err = await refusal(() => safeRelativePath("files[0].path", path));
    expect(err.message.startsWith("files[0].path: ")).toBe(true);
    expect(err.message).toContain(`path ${describePath(path)} `);
    expect(err.details).toEqual({ field: "files[0].path" });
  });

  it.each([
    ["a.txt", "a.txt"],
    ["src/index.ts", "src/index.ts"],
    ["./src/index.ts", "src/index.ts"],
    ["src//components/./App.tsx", "src/components/App.tsx"],
    ["src/", "src"],
    [".env", ".env"],
    [".github/workflows/ci.yml", ".github/workflows/ci.yml"],
    ["a..b/c...d", "a..b/c...d"],
    ["...", "..."],
    ["100%.txt", "100%.txt"],
    ["a%20b.txt", "a%20b.txt"],
    ["a%2fb", "a%2fb"],
    ["docs/~notes.md", "docs/~notes.md"],
    ["name with spaces/ünïcödé 漢字.md", "name with spaces/ünïcödé 漢字.md"],
    ["emoji-🙂.txt", "emoji-🙂.txt"],
    ["-rf", "-rf"],
    [`${"a".repeat(255)}`, "a".repeat(255)],
  ])("accepts %j as %j", (path, expected) => {
    expect(safeRelativePath("path", path)).toBe(expected);
  });

  it("accepts the root only when asked to", async () => {
    expect(safeRelativePath("cwd", "", { allowRoot: true })).toBe("");
    expect(safeRelativePath("cwd", ".", { allowRoot: true })).toBe("");
    expect(safeRelativePath("cwd", "./", { allowRoot: true })).toBe("");
    await refusal(() => safeRelativePath("cwd", "", {}));
    await refusal(() => safeRelativePath("cwd", "..", { allowRoot: true }));
  });

  it("refuses what is not a string", async () => {
    const err = await refusal(() => safeRelativePath("path", 42 as unknown as string));
    expect(err.message).toBe("path: must be a string path");
  });
});

describe("describePath", () => {
  it("quotes, escapes what would hide in a log line and cuts long paths", () => {
    expect(describePath("a\nb")).toBe('"a\\nb"');
    expect(describePath("a\u007fb\u202ec")).toBe('"a\\u007fb\\u202ec"');
    expect(describePath("x".repeat(300))).toBe(`"${"x".repeat(200)}…"`);
  });
});

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

describe("shellQuote", () => {
  const nasty = [
    "",
    "plain",
    "it's",
    "''''",
    `"double" and 'single'`,
    "$(touch /tmp/kiln-pwned)",
    "`id`",
    "$HOME ${PATH} $((1+1))",
    "a\nb\r\nc",
    "tab\there",
    "semi; rm -rf / && echo | cat > x",
    "glob * ? [a-z] {a,b} ~",
    "back\\slash\\",
    "!history !! ^caret",
    "ünïcödé 漢字 🙂 \u202e",
    "-n",
    "--help",
    "\u0001\u001b[31mred",
  ];

  it.each(nasty.map((value) => [JSON.stringify(value), value]))("round-trips %s through bash", (_label, value) => {
    const printed = execFileSync("bash", ["-c", `printf %s ${shellQuote(value)}`], { encoding: "utf8" });
    expect(printed).toBe(value);
  });

  it("single-quotes and escapes quotes as '\\''", () => {
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    expect(shellQuote("")).toBe("''");
  });

  it("refuses a NUL byte, which no shell word can hold", async () => {
    await refusal(() => shellQuote("a\0b"));
  });
});
