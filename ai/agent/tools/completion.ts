import type { AgentFinisher, PendingBackups } from "../ports";
import type { Tool } from "../tool";

/**
 * `attempt_completion`: accepted once every pending backup reached the vfs and the preview answers.
 * When the dev server does not come up, the result says why with its log tail, and the loop goes on
 * so the model can fix it.
 */
export function attemptCompletion(backups: PendingBackups, finisher: AgentFinisher): Tool {
  return {
    name: "attempt_completion",
    description:
      "Call when the app is built and works. Kiln backs up every file, starts the dev server and checks that the preview answers. Give dev_command and port if they cannot be detected from package.json.",
    inputSchema: {
      type: "object",
      properties: {
        summary: { type: "string", description: "What was built, for the user", maxLength: 4000 },
        dev_command: { type: "string", description: "Command that starts the dev server, e.g. npm run dev", maxLength: 1000 },
        port: { type: "integer", description: "Port the dev server listens on", minimum: 1, maximum: 65535 },
      },
      required: ["summary"],
    },
    async run(input) {
      const stillPending = await backups.flush();
      if (stillPending.length > 0) {
        return { content: `not complete: ${stillPending.length} file(s) are not backed up yet (${stillPending.join(", ")}); try again shortly`, isError: true };
      }
      const outcome = await finisher.finish({ devCommand: input.dev_command as string | undefined, port: input.port as number | undefined });
      if ("problem" in outcome) {
        return { content: `not complete: ${outcome.problem}\nDev server log (last lines):\n${outcome.logTail}`, isError: true };
      }
      return { content: `completion accepted; preview at ${outcome.previewUrl}`, completed: { summary: input.summary as string } };
    },
  };
}
