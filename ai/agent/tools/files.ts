import { createHash } from "node:crypto";
import type { AgentBackup, AgentSandbox, PendingBackups } from "../ports";
import type { Tool } from "../tool";

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** `write_to_file`: the sandbox first, then the vfs backup (kept pending if the vfs is down). */
export function writeToFile(sandbox: AgentSandbox, backups: PendingBackups): Tool {
  return {
    name: "write_to_file",
    description: "Create or overwrite a file in the project (path relative to the project root). Prefer replace_in_file for small edits.",
    inputSchema: {
      type: "object",
      properties: {
        path: { type: "string", description: "File path relative to the project root, e.g. src/App.tsx", maxLength: 1024 },
        content: { type: "string", description: "The complete new content of the file" },
      },
      required: ["path", "content"],
    },
    async run(input) {
      const path = input.path as string;
      const content = input.content as string;
      await sandbox.writeFile(path, content);
      const saved = await backups.save(path, content);
      const note = saved ? "" : " (the backup to the file store is pending and will be retried)";
      return { content: `wrote ${path} (${Buffer.byteLength(content)} bytes, sha256 ${sha256(content)})${note}` };
    },
  };
}

/** `read_file`: the sandbox first; when it cannot serve the file, the vfs's latest version, saying so. */
export function readFile(sandbox: AgentSandbox, backup: AgentBackup): Tool {
  return {
    name: "read_file",
    description: "Read a file of the project. Returns its content and sha256.",
    inputSchema: {
      type: "object",
      properties: { path: { type: "string", description: "File path relative to the project root", maxLength: 1024 } },
      required: ["path"],
    },
    async run(input) {
      const path = input.path as string;
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

/** `attempt_completion`: accepted only once every pending backup has reached the vfs. */
export function attemptCompletion(backups: PendingBackups): Tool {
  return {
    name: "attempt_completion",
    description: "Call when the app is built and works. Summarise what you built for the user.",
    inputSchema: {
      type: "object",
      properties: { summary: { type: "string", description: "What was built, for the user", maxLength: 4000 } },
      required: ["summary"],
    },
    async run(input) {
      const stillPending = await backups.flush();
      if (stillPending.length > 0) {
        return { content: `not complete: ${stillPending.length} file(s) are not backed up yet (${stillPending.join(", ")}); try again shortly`, isError: true };
      }
      const summary = input.summary as string;
      return { content: "completion accepted", completed: { summary } };
    },
  };
}
