import { describe, expect, it } from "vitest";
import { describePath } from "../../../lib/paths";
import { TOOL_NAMES } from "../../contract";
import { agentDoubles, devServerDown, passingReport } from "../../../test/support/agent-doubles";
import { HOSTILE_PATHS, namesRoot } from "../../../test/support/hostile-paths";
import type { AppCheckReport } from "../../checks/report";
import { ToolInputError, validateInput, type Tool } from "../tool";
import { sha256 } from "./files";

function tool(tools: Tool[], name: string): (input: Record<string, unknown>) => ReturnType<Tool["run"]> {
  const found = tools.find((t) => t.name === name)!;
  return (input) => found.run(validateInput(found.inputSchema, input), new AbortController().signal);
}

describe("the tool registry", () => {
  it("offers each tool once, each with a schema the model can read", () => {
    const { tools } = agentDoubles();
    const names = tools.map((t) => t.name);
    // The contract's list is the registry's: the dashboard and approvals know the tools from it.
    expect(names).toEqual([...TOOL_NAMES]);
    for (const t of tools) {
      expect(t.description.length).toBeGreaterThan(20);
      for (const field of t.inputSchema.required) expect(t.inputSchema.properties[field]).toBeDefined();
    }
  });

  it.each([
    ["write_to_file", { path: "a" }, "content: is required"],
    ["write_to_file", { path: 7, content: "x" }, "path: must be a string"],
    ["execute_command", { command: "ls", timeout_seconds: 0 }, "timeout_seconds: must be from 1 to 600"],
    ["execute_command", { command: "ls", timeout_seconds: 1.5 }, "timeout_seconds: must be an integer"],
    ["read_file", { path: "a", mode: "fast" }, "mode: is not a field of this tool (expected path)"],
  ])("rejects bad input to %s naming the field", (name, input, message) => {
    const { tools } = agentDoubles();
    const found = tools.find((t) => t.name === name)!;
    expect(() => validateInput(found.inputSchema, input)).toThrow(message);
  });
});

describe("replace_in_file", () => {
  it("replaces one unique match, writing the sandbox first and then the vfs", async () => {
    const d = agentDoubles();
    d.sandboxFiles.set("app.js", "const a = 1;\nconst b = 2;\n");
    const result = await tool(d.tools, "replace_in_file")({ path: "app.js", old: "const b = 2;", new: "const b = 3;", expected_sha256: sha256("const a = 1;\nconst b = 2;\n") });
    expect(result.isError).toBeFalsy();
    expect(d.sandboxFiles.get("app.js")).toBe("const a = 1;\nconst b = 3;\n");
    expect(d.calls).toEqual(["sandbox.read app.js", "sandbox.write app.js", "vfs.save app.js"]);
    expect(d.vfsFiles.get("app.js")).toBe("const a = 1;\nconst b = 3;\n");
  });

  it("refuses zero or several matches, saying which lines", async () => {
    const d = agentDoubles();
    d.sandboxFiles.set("app.js", "x();\ny();\nx();\n");
    const several = await tool(d.tools, "replace_in_file")({ path: "app.js", old: "x();", new: "z();" });
    expect(several).toEqual({ content: "refused: `old` occurs 2 times in app.js (lines 1, 3); add surrounding lines to make it unique", isError: true });
    const none = await tool(d.tools, "replace_in_file")({ path: "app.js", old: "w();", new: "z();" });
    expect(none).toEqual({ content: "refused: `old` does not occur in app.js", isError: true });
    expect(d.sandboxFiles.get("app.js")).toBe("x();\ny();\nx();\n");
  });

  it("refuses an edit when the file changed since it was read", async () => {
    const d = agentDoubles();
    d.sandboxFiles.set("app.js", "new content");
    const result = await tool(d.tools, "replace_in_file")({ path: "app.js", old: "new", new: "old", expected_sha256: sha256("what I read") });
    expect(result.isError).toBe(true);
    expect(result.content).toContain("changed since you read it");
    expect(d.sandboxFiles.get("app.js")).toBe("new content");
  });
});

describe("execute_command, list_files and search_files", () => {
  it("reports the exit code, and a failing command as an error the model sees", async () => {
    const d = agentDoubles({ exec: async (command) => ({ exitCode: command === "npm test" ? 1 : 0, output: "1 failing", timedOut: false }) });
    expect(await tool(d.tools, "execute_command")({ command: "npm test" })).toEqual({ content: "exit code 1\n1 failing", isError: true });
    expect(await tool(d.tools, "execute_command")({ command: "npm run build" })).toEqual({ content: "exit code 0\n1 failing", isError: false });
    const background = await tool(d.tools, "execute_command")({ command: "npm run dev", background: true });
    expect(background.content).toContain("ready on :5173");
  });

  it("lists and searches the sandbox", async () => {
    const d = agentDoubles();
    d.sandboxFiles.set("src/a.ts", "export const a = 1;\n");
    d.sandboxFiles.set("src/b.ts", "import { a } from './a';\n");
    expect((await tool(d.tools, "list_files")({ path: "src" })).content).toBe("src/a.ts (20 bytes)\nsrc/b.ts (25 bytes)");
    expect((await tool(d.tools, "search_files")({ pattern: "export" })).content).toBe("src/a.ts:1: export const a = 1;");
  });
});

/** The ToolInputError a tool answers `input` with (validated as the loop does), failing the test when it runs. */
async function refusedInput(tools: Tool[], name: string, input: Record<string, unknown>): Promise<string> {
  const error = await Promise.resolve()
    .then(() => tool(tools, name)(input))
    .then(
      (result) => new Error(`expected ${name} to refuse ${JSON.stringify(input)}, got ${JSON.stringify(result)}`),
      (err: unknown) => err,
    );
  expect(error).toBeInstanceOf(ToolInputError);
  return (error as Error).message;
}

describe("path inputs", () => {
  it.each(HOSTILE_PATHS)("refuses %s in every tool that takes a path or cwd, before the sandbox is asked", async (_why, path) => {
    const d = agentDoubles();
    const attempts: Array<[field: string, name: string, input: Record<string, unknown>]> = [
      ["path", "write_to_file", { path, content: "x" }],
      ["path", "read_file", { path }],
      ["path", "replace_in_file", { path, old: "a", new: "b" }],
    ];
    if (!namesRoot(path)) {
      attempts.push(
        ["path", "list_files", { path }],
        ["path", "search_files", { pattern: "x", path }],
        ["cwd", "execute_command", { command: "true", cwd: path }],
        ["cwd", "execute_command", { command: "true", cwd: path, background: true }],
      );
    }
    for (const [field, name, input] of attempts) {
      const message = await refusedInput(d.tools, name, input);
      // Past the schema's 1024 characters the schema refuses first, naming the length.
      expect(message).toMatch(path.length > 1024 ? `${field}: must be at most 1024 characters` : `${field}: path ${describePath(path)} `);
    }
    expect(d.calls).toEqual([]);
  });

  it.each([
    ["/etc", 'path: path "/etc" is absolute; paths are relative to the project root'],
    ["../../..", 'path: path "../../.." contains a .. segment'],
    ["-r", 'path: path "-r" begins with -, which commands would read as an option'],
    ["src/--include=*.env", 'path: path "src/--include=*.env" has a segment that begins with -, which commands would read as an option'],
    ["a\\b", 'path: path "a\\\\b" contains a backslash; use / between segments'],
    ["src\t", 'path: path "src\\t" contains a control character'],
  ])("answers search_files under %j with a refusal naming the path, searching nothing", async (path, message) => {
    const d = agentDoubles();
    expect(await refusedInput(d.tools, "search_files", { pattern: "root", path })).toBe(message);
    expect(d.calls).toEqual([]);
  });

  it("refuses an empty search pattern and one holding a NUL byte", async () => {
    const d = agentDoubles();
    expect(await refusedInput(d.tools, "search_files", { pattern: "" })).toBe("pattern: must not be empty");
    expect(await refusedInput(d.tools, "search_files", { pattern: "a\0b" })).toBe("pattern: must not contain a NUL byte");
    expect(await refusedInput(d.tools, "search_files", { pattern: "x".repeat(501) })).toBe("pattern: must be at most 500 characters, got 501");
    expect(d.calls).toEqual([]);
  });

  it("hands the sandbox normalised paths, the root for an absent or empty one", async () => {
    const d = agentDoubles();
    await tool(d.tools, "write_to_file")({ path: "./src//a.ts", content: "export const a = 1;\n" });
    await tool(d.tools, "search_files")({ pattern: "export", path: "./" });
    await tool(d.tools, "search_files")({ pattern: "export", path: "src//" });
    await tool(d.tools, "list_files")({});
    await tool(d.tools, "execute_command")({ command: "ls", cwd: "./src/" });
    await tool(d.tools, "execute_command")({ command: "pwd", cwd: "." });
    expect(d.calls).toEqual(["sandbox.write src/a.ts", "vfs.save src/a.ts", "sandbox.search export", "sandbox.search export in src", "sandbox.list ", "sandbox.exec ls in src", "sandbox.exec pwd"]);
  });
});

const typeError = (message: string): AppCheckReport => ({
  ok: false,
  previewUrl: null,
  screenshot: null,
  results: [
    { kind: "typecheck", target: "npx tsc --noEmit", ok: false, errors: [{ file: "src/App.tsx", line: 3, column: 15, message }], durationMs: 900 },
    { kind: "dev_server", target: "npm run dev", ok: true, errors: [], durationMs: 40 },
  ],
});

describe("attempt_completion", () => {
  it("is refused with the dev server's log tail when the preview does not answer", async () => {
    const d = agentDoubles({ check: async () => devServerDown("nothing answered on port 5173 within 30 s", "Error: Cannot find module 'vite'") });
    const result = await tool(d.tools, "attempt_completion")({ summary: "done" });
    expect(result.isError).toBe(true);
    expect(result.completed).toBeUndefined();
    expect(result.content).toContain("nothing answered on port 5173");
    expect(result.content).toContain("Cannot find module 'vite'");
  });

  it("passes the dev command and port on, and completes with the preview URL", async () => {
    let asked: unknown;
    const d = agentDoubles({ check: async (request) => ((asked = request), passingReport("http://127.0.0.1:4321")) });
    const result = await tool(d.tools, "attempt_completion")({ summary: "A blog", dev_command: "npm run dev", port: 4321 });
    expect(asked).toEqual({ devCommand: "npm run dev", port: 4321 });
    expect(result).toMatchObject({ completed: { summary: "A blog" } });
    expect(result.content).toContain("http://127.0.0.1:4321");
    expect(d.passed).toHaveLength(1);
  });

  it("refuses a failing check with the error's place and a hint, calls out a repeat, and ends the run after the limit", async () => {
    const d = agentDoubles({ check: async () => typeError("error TS2552: Cannot find name 'word'. Did you mean 'words'?"), maxFailedCompletions: 3 });
    const first = await tool(d.tools, "attempt_completion")({ summary: "done" });
    expect(first.isError).toBe(true);
    expect(first.completed).toBeUndefined();
    expect(first.failed).toBeUndefined();
    expect(first.content).toContain("Checks failed: typecheck (passed: dev server)");
    expect(first.content).toContain("- src/App.tsx:3:15 error TS2552: Cannot find name 'word'");
    expect(first.content).toMatch(/Hint: fix the type errors/);
    expect(first.content).not.toContain("same failure");
    const second = await tool(d.tools, "attempt_completion")({ summary: "done" });
    expect(second.content).toContain("This is the same failure as your previous attempt");
    expect(second.content).toContain("1 attempt(s) left");
    const third = await tool(d.tools, "attempt_completion")({ summary: "done" });
    expect(third.failed?.reason).toBe("the app still has errors: typecheck: src/App.tsx:3:15 error TS2552: Cannot find name 'word'. Did you mean 'words'?");
    expect(d.passed).toHaveLength(0);
  });

  it("does not call a different failure a repeat", async () => {
    let n = 0;
    const d = agentDoubles({ check: async () => typeError(n++ === 0 ? "Cannot find name 'word'." : "Type 'number' is not assignable to type 'string'.") });
    await tool(d.tools, "attempt_completion")({ summary: "done" });
    const second = await tool(d.tools, "attempt_completion")({ summary: "done" });
    expect(second.content).not.toContain("same failure");
  });
});

describe("check_app", () => {
  it("reports failures without completing and without counting against the completion gate", async () => {
    const d = agentDoubles({ check: async () => typeError("Cannot find name 'word'."), maxFailedCompletions: 1 });
    for (let i = 0; i < 3; i++) {
      const result = await tool(d.tools, "check_app")({});
      expect(result.isError).toBe(true);
      expect(result.failed).toBeUndefined();
      expect(result.content).toContain("src/App.tsx:3:15 Cannot find name 'word'.");
    }
    const passing = agentDoubles();
    const ok = await tool(passing.tools, "check_app")({});
    expect(ok).toMatchObject({ isError: false, content: "All checks passed: dev server." });
    expect(ok.completed).toBeUndefined();
  });
});
