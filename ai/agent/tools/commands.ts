import type { AgentSandbox } from "../ports";
import type { Tool } from "../tool";
import { toolPath } from "./inputs";

/** `execute_command`: a shell command in the sandbox, or a long-running one in the background. */
export function executeCommand(sandbox: AgentSandbox, limits: { defaultTimeoutSeconds: number; maxTimeoutSeconds: number }): Tool {
  return {
    name: "execute_command",
    description:
      "Run a shell command in the project directory of the sandbox (install dependencies, build, test). Output is capped. Use background: true for a long-running process such as a dev server: it returns the process's first output.",
    inputSchema: {
      type: "object",
      properties: {
        command: { type: "string", description: "The shell command", maxLength: 10_000 },
        cwd: { type: "string", description: "Directory relative to the project root", maxLength: 1024 },
        timeout_seconds: { type: "integer", description: "Time limit (default and maximum are set by Kiln)", minimum: 1, maximum: limits.maxTimeoutSeconds },
        background: { type: "boolean", description: "Start it and return at once (dev servers)" },
      },
      required: ["command"],
    },
    async run(input, signal) {
      const command = input.command as string;
      const cwd = toolPath(input, "cwd", { allowRoot: true }) || undefined;
      if (input.background === true) {
        const started = await sandbox.startBackground(command, { cwd });
        return { content: `started in the background (process ${started.processId}). First output:\n${started.firstOutput || "(none yet)"}` };
      }
      const timeoutSeconds = (input.timeout_seconds as number | undefined) ?? limits.defaultTimeoutSeconds;
      const result = await sandbox.exec(command, { cwd, timeoutMs: timeoutSeconds * 1000, signal });
      const status = result.timedOut ? `timed out after ${timeoutSeconds} s` : `exit code ${result.exitCode}`;
      return { content: `${status}\n${result.output}`, isError: result.timedOut || result.exitCode !== 0 };
    },
  };
}
