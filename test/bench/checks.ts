/**
 * The self-check of a warm vite-react workspace (issue 14): typecheck, build, the dev server and the
 * page in the check's browser, as attempt_completion runs them, and what the browser costs in memory.
 */
import { sandboxOf } from "../../ai/jobs/adapters";
import { PreviewBrowser } from "../../ai/checks/browser";
import { createChecker } from "../../ai/checks/checker";
import { launchChromium } from "../../ai/checks/chromium";
import type { AppCheckReport } from "../../ai/checks/report";
import { TemplateCatalog } from "../../lib/templates";
import type { WorkspaceApi } from "../../workspace/contract";
import { chromiumPssMb, fmt, percentile, type BenchRow } from "./measure";

const RUNS = 5;

export async function benchChecks(workspace: WorkspaceApi): Promise<BenchRow[]> {
  const template = TemplateCatalog.shared().find("vite-react")!;
  const ws = await workspace.create({ projectId: "bench-checks", template: "vite-react" });
  while ((await workspace.get({ id: ws.id })).status !== "running") await new Promise((resolve) => setTimeout(resolve, 20));
  const browser = new PreviewBrowser(() => launchChromium());
  const checker = createChecker({
    sandbox: sandboxOf(workspace, ws.id),
    devServer: async () => {
      const server = await workspace.ensureDevServer({ id: ws.id, command: template.manifest.dev });
      return server.ok && server.previewUrl ? { url: server.previewUrl } : { problem: server.problem ?? "down", logTail: server.logTail };
    },
    browser,
    manifest: template.manifest,
    commandTimeoutMs: 120_000,
    browserTimeoutMs: 20_000,
    onEvent: () => undefined,
  });
  const signal = new AbortController().signal;
  try {
    const first = await timedCheck(() => checker.check({}, signal));
    const runs: { ms: number; report: AppCheckReport }[] = [];
    for (let i = 0; i < RUNS; i++) runs.push(await timedCheck(() => checker.check({}, signal)));
    const failed = runs.flatMap((r) => r.report.results.filter((c) => !c.ok).map((c) => c.kind));
    const by = (kind: string) => percentile(runs.map((r) => r.report.results.find((c) => c.kind === kind)?.durationMs ?? NaN), 50);
    const total = percentile(runs.map((r) => r.ms), 50);
    return [
      {
        benchmark: "self-check",
        measure: `full check of a warm vite-react workspace, median of ${RUNS}`,
        value: fmt(total),
        note: `typecheck ${fmt(by("typecheck"))}, build ${fmt(by("build"))}, dev server ${fmt(by("dev_server"))}, browser ${fmt(by("browser"))}; first check (browser launch) ${fmt(first.ms)}; target < 5 s${failed.length ? `; FAILED: ${failed.join(", ")}` : ""}`,
      },
      { benchmark: "self-check", measure: "the check browser's memory (PSS) after the checks", value: `${chromiumPssMb()} MB`, note: "one browser per server process, a fresh context per check" },
    ];
  } finally {
    await browser.close();
    await workspace.del({ id: ws.id });
  }
}

async function timedCheck(work: () => Promise<AppCheckReport>): Promise<{ ms: number; report: AppCheckReport }> {
  const started = performance.now();
  const report = await work();
  return { ms: performance.now() - started, report };
}
