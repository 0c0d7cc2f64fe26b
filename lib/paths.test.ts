import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { HOSTILE_PATHS } from "../test/support/hostile-paths";
import { refusal } from "../test/support/refusal";
import { describePath, safeRelativePath, shellQuote } from "./paths";

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
    ["a-b/c-", "a-b/c-"],
    ["src/x--help", "src/x--help"],
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

  it.each([
    ["-rf", 'begins with -, which commands would read as an option'],
    ["-", 'begins with -, which commands would read as an option'],
    ["src/--help", 'has a segment that begins with -, which commands would read as an option'],
    ["./-n", 'has a segment that begins with -, which commands would read as an option'],
    ["%2drf", 'is percent-encoded and decodes to a path that begins with -, which commands would read as an option'],
    ["a\tb.txt", "contains a control character"],
    ["a.txt\n", "contains a control character"],
    ["a\u0007.txt", "contains a control character"],
    ["a\u009b2J", "contains a control character"],
  ])("refuses %j, saying why and naming the path escaped", async (path, why) => {
    const err = await refusal(() => safeRelativePath("cwd", path, { allowRoot: true }));
    expect(err.message).toBe(`cwd: path ${describePath(path)} ${why}`);
  });

  it("names a control character escaped, never raw", async () => {
    expect((await refusal(() => safeRelativePath("path", "a\u0007\n"))).message).toBe('path: path "a\\u0007\\n" contains a control character');
  });

  it("refuses what is not a string", async () => {
    const err = await refusal(() => safeRelativePath("path", 42));
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
