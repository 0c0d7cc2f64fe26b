import { CompletionGate, describeReport, type AppCheckReport } from "../../checks/report";
import type { AgentChecker, PendingBackups } from "../ports";
import type { Tool } from "../tool";

const DEV_SERVER_FIELDS = {
  dev_command: { type: "string", description: "Command that starts the dev server, e.g. npm run dev", maxLength: 1000 },
  port: { type: "integer", description: "Port the dev server listens on", minimum: 1, maximum: 65535 },
} as const;

/** What the completion tools need: the checker, the run's gate, and who hears of a passing check. */
export interface CompletionDeps {
  backups: PendingBackups;
  checker: AgentChecker;
  gate: CompletionGate;
  /** Told of every report whose checks all passed (the job keeps its preview and screenshot). */
  onPassed(report: AppCheckReport): void;
}

const devServerRequest = (input: Record<string, unknown>) => ({ devCommand: input.dev_command as string | undefined, port: input.port as number | undefined });

/**
 * `attempt_completion`: accepted only when every pending backup reached the vfs and every check passes
 * (typecheck, build, lint, the dev server, the page in a real browser). A failure refuses completion
 * with a compact report; the gate calls out a repeated failure and ends the run after too many.
 */
export function attemptCompletion(deps: CompletionDeps): Tool {
  return {
    name: "attempt_completion",
    description:
      "Call when the app is built and works. Kiln backs up every file, runs the project's typecheck, build and lint, starts the dev server and loads the page in a real browser (uncaught errors, console errors, failed requests, a blank page). Completion is refused with a report while any check fails. Give dev_command and port if they cannot be detected from package.json.",
    inputSchema: {
      type: "object",
      properties: { summary: { type: "string", description: "What was built, for the user", maxLength: 4000 }, ...DEV_SERVER_FIELDS },
      required: ["summary"],
    },
    async run(input, signal) {
      const stillPending = await deps.backups.flush();
      if (stillPending.length > 0) {
        return { content: `not complete: ${stillPending.length} file(s) are not backed up yet (${stillPending.join(", ")}); try again shortly`, isError: true };
      }
      const report = await deps.checker.check(devServerRequest(input), signal);
      if (report.ok) {
        deps.onPassed(report);
        return { content: `completion accepted; ${describeReport(report)} Preview at ${report.previewUrl}`, completed: { summary: input.summary as string } };
      }
      const refusal = deps.gate.refuse(report);
      return { content: refusal.message, isError: true, ...(refusal.end ? { failed: { reason: refusal.end } } : {}) };
    },
  };
}

/** `check_app`: the same checks as completion, any time, without completing or counting against the gate. */
export function checkApp(deps: CompletionDeps): Tool {
  return {
    name: "check_app",
    description:
      "Runs the checks attempt_completion runs (typecheck, build, lint, dev server, the page in a real browser) and reports what fails with file and line, without completing. Use it after a batch of changes.",
    inputSchema: { type: "object", properties: { ...DEV_SERVER_FIELDS }, required: [] },
    async run(input, signal) {
      await deps.backups.flush();
      const report = await deps.checker.check(devServerRequest(input), signal);
      if (report.ok) deps.onPassed(report);
      return { content: describeReport(report), isError: !report.ok };
    },
  };
}
