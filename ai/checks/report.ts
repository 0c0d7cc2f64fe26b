import type { CheckKind } from "../contract";
import { formatDiagnostic, type Diagnostic } from "./diagnostics";

export type { CheckKind };

/** One check's outcome: what ran, whether it passed, and the errors it found. */
export interface CheckResult {
  kind: CheckKind;
  ok: boolean;
  /** What was checked: the command, or the preview's path. */
  target: string;
  errors: Diagnostic[];
  /** The end of the output when its errors could not be parsed out of it, or the dev server's log. */
  outputTail?: string;
  durationMs: number;
}

/** Every check of one attempt, with the preview when it answered. */
export interface AppCheckReport {
  ok: boolean;
  results: CheckResult[];
  previewUrl: string | null;
  /** The browser's 1280×800 PNG of the preview, when it was loaded. */
  screenshot: Buffer | null;
}

const ERRORS_PER_CHECK = 8;
const TAIL_CHARS = 1200;

const HINTS: Record<CheckKind, string> = {
  typecheck: "fix the type errors at these places (read_file each first); the first one often causes the rest",
  build: "the production build fails: fix the file and line named above; a missing import or file is the usual cause",
  lint: "fix the lint errors named above, or the rule's cause; do not disable the rule",
  dev_server: "the dev server does not answer: read its log above, check the dev script and that it listens on $PORT",
  browser: "the page fails in a real browser: fix the first uncaught error at the place named; a blank page usually means App renders nothing or main.tsx does not mount it",
};

const LABELS: Record<CheckKind, string> = {
  typecheck: "Typecheck",
  build: "Build",
  lint: "Lint",
  dev_server: "Dev server",
  browser: "Browser",
};

/**
 * The report the agent reads when checks fail: what failed, the first errors with their places, and a
 * hint of where to look; never the raw output (only its tail when no error could be read out of it).
 */
export function describeReport(report: AppCheckReport): string {
  const failed = report.results.filter((r) => !r.ok);
  if (failed.length === 0) return `All checks passed: ${report.results.map((r) => LABELS[r.kind].toLowerCase()).join(", ")}.`;
  const passed = report.results.filter((r) => r.ok).map((r) => LABELS[r.kind].toLowerCase());
  const parts = [`Checks failed: ${failed.map((r) => LABELS[r.kind].toLowerCase()).join(", ")}${passed.length ? ` (passed: ${passed.join(", ")})` : ""}.`];
  for (const result of failed) {
    parts.push(`\n${LABELS[result.kind]} (${result.target}):`);
    for (const error of result.errors.slice(0, ERRORS_PER_CHECK)) parts.push(`- ${formatDiagnostic(error)}`);
    if (result.errors.length > ERRORS_PER_CHECK) parts.push(`- … and ${result.errors.length - ERRORS_PER_CHECK} more`);
    if (result.outputTail) parts.push(result.outputTail.slice(-TAIL_CHARS));
    parts.push(`Hint: ${HINTS[result.kind]}.`);
  }
  return parts.join("\n");
}

/** The report in one line, for a job's reason: "typecheck: src/App.tsx:3:5 Cannot find name 'x'; browser: …". */
export function summarizeFailures(report: AppCheckReport): string {
  return report.results
    .filter((r) => !r.ok)
    .map((r) => `${LABELS[r.kind].toLowerCase()}: ${r.errors[0] ? formatDiagnostic(r.errors[0]) : (r.outputTail ?? "failed").trim().split("\n").pop()}${r.errors.length > 1 ? ` (+${r.errors.length - 1} more)` : ""}`)
    .join("; ");
}

/**
 * What identifies a failure across attempts: the failed checks and their first errors, without the
 * numbers that change from run to run (timings, ports, line numbers shifted by an unrelated edit).
 */
export function failureSignature(report: AppCheckReport): string {
  return report.results
    .filter((r) => !r.ok)
    .map((r) => `${r.kind}:${r.errors.slice(0, 3).map((e) => `${e.file ?? ""} ${e.message}`.replace(/\d+/g, "#")).join("|") || (r.outputTail ?? "").slice(-200).replace(/\d+/g, "#")}`)
    .join("\n");
}

/**
 * The completion gate of one run: a failed check refuses completion; the same failure on consecutive
 * attempts is called out; after `maxFailures` failed completions the run ends as failed.
 */
export class CompletionGate {
  private failures = 0;
  private lastSignature: string | null = null;
  private repeats = 0;

  constructor(private readonly maxFailures: number) {}

  /** Records a failed attempt and says what the agent is told, or that the run must end. */
  refuse(report: AppCheckReport): { message: string; end?: string } {
    this.failures++;
    const signature = failureSignature(report);
    this.repeats = signature === this.lastSignature ? this.repeats + 1 : 0;
    this.lastSignature = signature;
    const described = describeReport(report);
    if (this.failures >= this.maxFailures) {
      return { message: `not complete: ${described}\n\nThis was failed completion ${this.failures} of ${this.maxFailures}: the run ends.`, end: `the app still has errors: ${summarizeFailures(report)}` };
    }
    const repeated = this.repeats > 0 ? `\n\nThis is the same failure as your previous attempt${this.repeats > 1 ? ` (${this.repeats + 1} times in a row)` : ""}: what you changed did not fix it. Step back, read the failing file and its imports again, and try a different approach.` : "";
    return { message: `not complete: ${described}${repeated}\n\nFix these and call attempt_completion again (${this.maxFailures - this.failures} attempt(s) left); check_app runs the same checks without completing.` };
  }
}
