import type { TemplateManifest } from "../../lib/templates";
import type { GenerationEventData } from "../contract";
import type { AgentChecker, AgentSandbox } from "../agent/ports";
import type { PreviewBrowser, PreviewTarget } from "./browser";
import { parseDiagnostics } from "./diagnostics";
import { plannedChecks } from "./plan";
import type { AppCheckReport, CheckKind, CheckResult } from "./report";

/** The dev server brought up for checking: where it answers, or why it does not. */
export type DevServerOutcome = PreviewTarget | { problem: string; logTail: string };

/** What checking an app needs. */
export interface CheckerDeps {
  sandbox: Pick<AgentSandbox, "exec" | "listFiles" | "readFile">;
  /** Backs the sandbox up, starts (or keeps) the dev server and probes it. */
  devServer(request: { devCommand?: string; port?: number }): Promise<DevServerOutcome>;
  /** The server's browser; null where none can run (the browser check then fails, saying why). */
  browser: PreviewBrowser | null;
  /** The project's template, whose manifest names its checks. */
  manifest: TemplateManifest | null;
  commandTimeoutMs: number;
  browserTimeoutMs: number;
  /** `check_started` and `check_finished`, for the job's event stream. */
  onEvent<T extends "check_started" | "check_finished">(type: T, data: GenerationEventData[T]): void | Promise<void>;
}

const TAIL_CHARS = 1500;

/**
 * Checks an app as a careful developer does before saying "done": runs its typecheck, build and lint,
 * brings its dev server up and loads the page in a real browser. Every check runs (one failure does
 * not hide another), except the browser when the dev server is down.
 */
export function createChecker(deps: CheckerDeps): AgentChecker {
  async function timed(kind: CheckKind, target: string, work: () => Promise<Omit<CheckResult, "kind" | "target" | "durationMs">>): Promise<CheckResult> {
    await deps.onEvent("check_started", { kind, target });
    const started = Date.now();
    let result: CheckResult;
    try {
      result = { kind, target, ...(await work()), durationMs: Date.now() - started };
    } catch (err) {
      result = { kind, target, ok: false, errors: [{ message: `the check could not run: ${err instanceof Error ? err.message : String(err)}` }], durationMs: Date.now() - started };
    }
    await deps.onEvent("check_finished", { kind, target, ok: result.ok, errors: result.errors.slice(0, 20), durationMs: result.durationMs });
    return result;
  }

  return {
    async check(request, signal) {
      const results: CheckResult[] = [];
      const files = (await deps.sandbox.listFiles("", false)).map((f) => f.path);
      const packageJson = files.includes("package.json") ? await deps.sandbox.readFile("package.json").catch(() => null) : null;
      const hasLocalTsc = files.includes("tsconfig.json") && (await deps.sandbox.exec("test -x node_modules/.bin/tsc", { timeoutMs: 10_000, signal }).catch(() => null))?.exitCode === 0;
      for (const check of plannedChecks({ manifest: deps.manifest, files, packageJson, hasLocalTsc })) {
        if (signal.aborted) break;
        results.push(
          await timed(check.kind, check.command, async () => {
            const run = await deps.sandbox.exec(check.command, { timeoutMs: deps.commandTimeoutMs, signal });
            if (run.timedOut) return { ok: false, errors: [{ message: `did not finish within ${Math.round(deps.commandTimeoutMs / 1000)} s` }], outputTail: run.output.slice(-TAIL_CHARS) };
            if (run.exitCode === 0) return { ok: true, errors: [] };
            const errors = parseDiagnostics(run.output);
            return { ok: false, errors, outputTail: errors.length === 0 ? run.output.slice(-TAIL_CHARS) || `exited with code ${run.exitCode} and printed nothing` : undefined };
          }),
        );
      }
      let target: PreviewTarget | null = null;
      results.push(
        await timed("dev_server", request.devCommand ?? "the project's dev command", async () => {
          const outcome = await deps.devServer(request);
          if ("problem" in outcome) return { ok: false, errors: [{ message: outcome.problem }], outputTail: outcome.logTail ? `Dev server log (last lines):\n${outcome.logTail}` : undefined };
          target = outcome;
          return { ok: true, errors: [] };
        }),
      );
      let screenshot: Buffer | null = null;
      const preview = target as PreviewTarget | null;
      if (preview && !signal.aborted) {
        results.push(
          await timed("browser", new URL(preview.url).pathname, async () => {
            if (!deps.browser) return { ok: false, errors: [{ message: "no browser is available on this server to load the preview" }] };
            const loaded = await deps.browser.check(preview, { timeoutMs: deps.browserTimeoutMs });
            screenshot = loaded.screenshot;
            return { ok: loaded.ok, errors: loaded.errors };
          }),
        );
      }
      const report: AppCheckReport = { ok: results.every((r) => r.ok), results, previewUrl: preview?.url ?? null, screenshot };
      return report;
    },
  };
}
