import { createHash } from "node:crypto";
import type { AgentBackup, AgentSandbox, PendingBackups } from "../ports";
import { ToolInputError, type Tool } from "../tool";
import { toolPath } from "./inputs";

/** The sha256 a tool reports for a file's content, and `replace_in_file` checks. */
export const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

const PATH = { type: "string", description: "Path relative to the project root, e.g. src/App.tsx", maxLength: 1024 } as const;

/** Writes to the sandbox first, then backs the file up (kept pending if the vfs is down). */
async function writeThrough(sandbox: AgentSandbox, backups: PendingBackups, path: string, content: string): Promise<string> {
  await sandbox.writeFile(path, content);
  const saved = await backups.save(path, content);
  return saved ? "" : " (its backup to the file store is pending and will be retried)";
}

/** `write_to_file`: create or overwrite a file. */
export function writeToFile(sandbox: AgentSandbox, backups: PendingBackups): Tool {
  return {
    name: "write_to_file",
    description: "Create a file, or overwrite it entirely. For small changes to an existing file use replace_in_file.",
    inputSchema: {
      type: "object",
      properties: { path: PATH, content: { type: "string", description: "The complete content of the file" } },
      required: ["path", "content"],
    },
    async run(input) {
      const path = toolPath(input, "path");
      const content = input.content as string;
      const note = await writeThrough(sandbox, backups, path, content);
      return { content: `wrote ${path} (${Buffer.byteLength(content)} bytes, sha256 ${sha256(content)})${note}` };
    },
  };
}

/** `read_file`: the sandbox first; when it cannot serve the file, the vfs's latest version, saying so. */
export function readFile(sandbox: AgentSandbox, backup: AgentBackup): Tool {
  return {
    name: "read_file",
    description: "Read a file of the project. Returns its sha256 (pass it to replace_in_file) and its content.",
    inputSchema: { type: "object", properties: { path: PATH }, required: ["path"] },
    async run(input) {
      const path = toolPath(input, "path");
      try {
        const content = await sandbox.readFile(path);
        return { content: `sha256 ${sha256(content)}\n${content}` };
      } catch (sandboxError) {
        const saved = await backup.readLatest(path);
        if (saved === null) {
          const reason = sandboxError instanceof Error ? sandboxError.message : String(sandboxError);
          return { content: `cannot read ${path}: ${reason}`, isError: true };
        }
        return { content: `(the sandbox could not serve ${path}; this is the last backed-up version)\nsha256 ${sha256(saved)}\n${saved}` };
      }
    },
  };
}

function occurrences(haystack: string, needle: string): number[] {
  const found: number[] = [];
  for (let at = haystack.indexOf(needle); at !== -1; at = haystack.indexOf(needle, at + 1)) found.push(at);
  return found;
}

/** `replace_in_file`: one exact, unique match replaced; refused when the file changed since it was read. */
export function replaceInFile(sandbox: AgentSandbox, backups: PendingBackups): Tool {
  return {
    name: "replace_in_file",
    description:
      "Replace one exact, unique occurrence of `old` with `new` in a file. Include enough surrounding lines in `old` to make it unique. Pass the sha256 read_file gave you as expected_sha256 to make sure the file did not change meanwhile.",
    inputSchema: {
      type: "object",
      properties: {
        path: PATH,
        old: { type: "string", description: "The exact text to replace (must occur exactly once)" },
        new: { type: "string", description: "The replacement text" },
        expected_sha256: { type: "string", description: "sha256 of the file as you last read it", maxLength: 64 },
      },
      required: ["path", "old", "new"],
    },
    async run(input) {
      const path = toolPath(input, "path");
      const old = input.old as string;
      const current = await sandbox.readFile(path);
      const expected = input.expected_sha256 as string | undefined;
      if (expected !== undefined && expected !== sha256(current)) {
        return { content: `refused: ${path} changed since you read it (its sha256 is now ${sha256(current)}); read it again`, isError: true };
      }
      if (old.length === 0) return { content: "refused: `old` is empty", isError: true };
      const found = occurrences(current, old);
      if (found.length !== 1) {
        const lines = found.map((at) => current.slice(0, at).split("\n").length);
        const detail =
          found.length === 0
            ? `does not occur in ${path}`
            : `occurs ${found.length} times in ${path} (lines ${lines.join(", ")}); add surrounding lines to make it unique`;
        return { content: `refused: \`old\` ${detail}`, isError: true };
      }
      const updated = current.slice(0, found[0]) + (input.new as string) + current.slice(found[0]! + old.length);
      const note = await writeThrough(sandbox, backups, path, updated);
      return { content: `edited ${path} (sha256 now ${sha256(updated)})${note}` };
    },
  };
}

/** `list_files`: the project's files (dependency and build folders left out). */
export function listFiles(sandbox: AgentSandbox): Tool {
  return {
    name: "list_files",
    description: "List files under a directory of the project (node_modules, .git, dist and build are left out).",
    inputSchema: {
      type: "object",
      properties: {
        path: { ...PATH, description: "Directory relative to the project root; empty for the root" },
        recursive: { type: "boolean", description: "Include subdirectories (default true)" },
      },
      required: [],
    },
    async run(input) {
      const entries = await sandbox.listFiles(toolPath(input, "path", { allowRoot: true }), (input.recursive as boolean | undefined) ?? true);
      if (entries.length === 0) return { content: "(no files)" };
      return { content: entries.map((e) => (e.isDir ? `${e.path}/` : `${e.path} (${e.size} bytes)`)).join("\n") };
    },
  };
}

/** The `pattern` of search_files, refused when empty or holding a NUL byte (the schema bounds its length). */
function searchPattern(pattern: string): string {
  if (pattern === "") throw new ToolInputError("pattern: must not be empty");
  if (pattern.includes("\0")) throw new ToolInputError("pattern: must not contain a NUL byte");
  return pattern;
}

/** `search_files`: lines matching a pattern, under a path checked before any command runs. */
export function searchFiles(sandbox: AgentSandbox): Tool {
  return {
    name: "search_files",
    description: "Search the project's files for a regular expression (grep -E). Returns path:line: text for each match.",
    inputSchema: {
      type: "object",
      properties: {
        pattern: { type: "string", description: "Regular expression", maxLength: 500 },
        path: { ...PATH, description: "Directory to search; empty for the whole project" },
      },
      required: ["pattern"],
    },
    async run(input) {
      const matches = await sandbox.searchFiles(searchPattern(input.pattern as string), toolPath(input, "path", { allowRoot: true }));
      if (matches.length === 0) return { content: "no matches" };
      return { content: matches.map((m) => `${m.path}:${m.line}: ${m.text}`).join("\n") };
    },
  };
}
