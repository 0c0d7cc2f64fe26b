/**
 * Templates, side by side in one run: POST /generations → the first preview answering for a vite-react
 * project with its dependencies already installed (preview_ready), with a warm pool of spare workspaces
 * and without one, against the same app scaffolded in a fresh sandbox by `npm install` and its dev server
 * (the naive path); the one-time cold install of each template into an empty cache; and the disk a
 * template workspace costs beyond its own files.
 */
import { execFileSync } from "node:child_process";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Logger } from "../../lib/log";
import { TemplateCatalog } from "../../lib/templates";
import type { WorkspaceApi } from "../../workspace/contract";
import { createLocalProvider } from "../../workspace/sandbox/local";
import { sandboxTemplate } from "../../workspace/service";
import { readEvents } from "../support/generation";
import { client } from "../support/http";
import { searchableTempDir } from "../support/isolation";
import type { TestKiln } from "../support/kiln";
import { startGenerationStack } from "../support/stack";
import { fmt, percentile, time, type BenchRow } from "./measure";

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };

/**
 * Milliseconds from `url` answering to every module of its first page loaded, as a browser fetches them:
 * index.html, then each level of imports at once (Vite transforms each on request: React from its
 * dependency pre-bundle, the CSS through Tailwind).
 */
async function firstPage(url: string): Promise<number> {
  return time(async () => {
    const seen = new Set<string>();
    let level = ["/"];
    while (level.length > 0) {
      for (const path of level) seen.add(path);
      const bodies = await Promise.all(level.map(async (path) => (await fetch(new URL(path, url))).text()));
      const next = bodies.flatMap((body) => [...body.matchAll(/(?:from|import|src=)\s*["'](\/[^"']+)["']/g)].map((match) => match[1]!));
      level = [...new Set(next)].filter((path) => !seen.has(path));
    }
  });
}

/** Milliseconds from POST /generations to the preview_ready event of a new vite-react project, and then to its first page loaded. */
async function toFirstPreview(kiln: TestKiln, token: string, name: string): Promise<{ ready: number; page: number }> {
  const api = client(kiln.url, token);
  const project = (await api.call("POST", "/projects", { name, template: "vite-react" })).body;
  const started = performance.now();
  const job = (await api.call("POST", "/generations", { projectId: project.id, prompt: "Build a hello page" })).body;
  const events = await readEvents(kiln.url, token, job.id, { until: (event) => event.event === "preview_ready" || ["completed", "failed"].includes(event.event) });
  const ready = events.find((event) => event.event === "preview_ready");
  if (!ready) throw new Error(`no preview_ready: ${events.map((e) => e.event).join(" ")} (last: ${JSON.stringify(events.at(-1)?.data)})`);
  const elapsed = performance.now() - started;
  const answer = await fetch(ready.data.url as string);
  if (!answer.ok) throw new Error(`the preview said ready but answered ${answer.status}`);
  return { ready: elapsed, page: await firstPage(ready.data.url as string) };
}

/** The naive path: a fresh empty workspace, the template's files written, `npm install`, the dev server up. */
async function scaffolded(workspace: WorkspaceApi): Promise<number> {
  const template = TemplateCatalog.shared().find("vite-react")!;
  return time(async () => {
    const ws = await workspace.create({ projectId: "bench-naive" });
    while ((await workspace.get({ id: ws.id })).status !== "running") await new Promise((resolve) => setTimeout(resolve, 10));
    await workspace.writeFiles({ id: ws.id, files: template.files.map((f) => ({ path: f.path, contentBase64: f.content.toString("base64"), mode: f.mode })) });
    const install = await workspace.exec({ id: ws.id, command: "npm install --no-fund", timeoutMs: 900_000 });
    if (install.exitCode !== 0) throw new Error(`npm install failed: ${install.output.slice(-2000)}`);
    const dev = await workspace.ensureDevServer({ id: ws.id, command: template.manifest.dev, probeTimeoutMs: 120_000 });
    if (!dev.ok) throw new Error(`the naive dev server did not answer: ${dev.problem}`);
    await workspace.del({ id: ws.id });
  });
}

/** Seconds of each template's first install into an empty cache. */
async function coldInstalls(): Promise<Array<{ name: string; seconds: number }>> {
  const dir = await searchableTempDir("kiln-bench-cold-");
  const provider = await createLocalProvider({ root: join(dir, "sandboxes"), templateCache: join(dir, "cache"), portRange: [31000, 31010], log: silent });
  const results: Array<{ name: string; seconds: number }> = [];
  try {
    for (const template of TemplateCatalog.shared().all().filter((t) => t.manifest.install)) {
      const ms = await time(() => provider.create({ workspaceId: `wsp_${template.manifest.name}`, projectId: "prj_cold", template: sandboxTemplate(template) }));
      results.push({ name: template.manifest.name, seconds: ms / 1000 });
    }
  } finally {
    await provider.close();
    await rm(dir, { recursive: true, force: true });
  }
  return results;
}

/** The first previews' template installations: the benchmark's own, so no test sharing the tests' cache changes it under a measure. */
const BENCH_TEMPLATE_CACHE = join(tmpdir(), "kiln-bench-template-cache");

/**
 * How long the model's first turn may last: the preview must come during it. It ends when the measuring
 * does, so no earlier generation's checks (a build, a browser) share the machine with a later measure.
 */
const THINKING_MS = 300_000;

/** Five first previews (after a warm-up) on a server of its own keeping `warmPool` spares per template, each once the pool is full; and the disk of its largest workspace. */
async function firstPreviews(warmPool: number): Promise<{ runs: Array<{ ready: number; page: number }>; perWorkspace: number }> {
  let stopThinking = () => {};
  const measured = new Promise<void>((resolve) => (stopThinking = resolve));
  const stack = await startGenerationStack({
    script: async () => {
      await Promise.race([measured, new Promise((resolve) => setTimeout(resolve, THINKING_MS).unref())]);
      return { content: [{ type: "text", text: "Done thinking." }] };
    },
    env: { KILN_RUNNER_CONCURRENCY: "8", KILN_WORKSPACE_POLL_MS: "2000", LOG_LEVEL: "warn", KILN_WARM_POOL: String(warmPool), KILN_TEMPLATE_CACHE: BENCH_TEMPLATE_CACHE },
  });
  const workspace = stack.kiln.kiln.services.find((s) => s.name === "workspace")!.impl as { fillPool(): Promise<void> };
  const runs: Array<{ ready: number; page: number }> = [];
  try {
    // A person arrives at a server that has been up a while: its pool full again since the last project.
    await workspace.fillPool();
    await toFirstPreview(stack.kiln, stack.token, "warm-up");
    for (let i = 0; i < 5; i++) {
      await workspace.fillPool();
      runs.push(await toFirstPreview(stack.kiln, stack.token, `warm ${i}`));
    }
    const sandboxes = join(stack.kiln.config.dataDir, "sandboxes");
    const largest = execFileSync("sh", ["-c", 'for d in "$1"/sbx_*; do du -sb --exclude=project "$d" | cut -f1; done | sort -n | tail -1', "sh", sandboxes], { encoding: "utf8" }).trim();
    return { runs, perWorkspace: Number(largest) };
  } finally {
    stopThinking();
    await stack.close();
  }
}

/** Every template benchmark's rows: `workspace` (the main bench server's) serves the naive path, servers of their own the first previews. */
export async function benchTemplates(workspace: WorkspaceApi): Promise<BenchRow[]> {
  const pooled = await firstPreviews(1);
  const unpooled = await firstPreviews(0);
  const naive = await scaffolded(workspace);
  const median = (runs: Array<{ ready: number; page: number }>, key: "ready" | "page") => percentile(runs.map((run) => run[key]), 50);
  const pooledMs = median(pooled.runs, "ready");
  const unpooledMs = median(unpooled.runs, "ready");
  const rows: BenchRow[] = [
    {
      benchmark: "first preview, vite-react (warm pool)",
      measure: "POST /generations → preview_ready, median of 5",
      value: fmt(pooledMs),
      note: `naive path (fresh sandbox, npm install, dev server): ${fmt(naive)}; ×${(naive / pooledMs).toFixed(0)} faster (target under 1.5 s and ≥ 20×); costs an idle dev server per template (KILN_WARM_POOL=1)`,
    },
    {
      benchmark: "first preview, vite-react (warm template cache, no pool)",
      measure: "POST /generations → preview_ready, median of 5",
      value: fmt(unpooledMs),
      note: `KILN_WARM_POOL=0: the workspace is made and its Vite started on the request; ×${(naive / unpooledMs).toFixed(0)} faster than the naive path`,
    },
    {
      benchmark: "first page, vite-react (warm pool)",
      measure: "preview_ready → every module of the page loaded, median of 5",
      value: fmt(median(pooled.runs, "page")),
      note: `no pool: ${fmt(median(unpooled.runs, "page"))}; index.html, the app's modules, React from the shared pre-bundle, the CSS through Tailwind`,
    },
  ];
  for (const cold of await coldInstalls()) {
    rows.push({ benchmark: `cold install, ${cold.name}`, measure: "first workspace of a template version into an empty cache", value: `${cold.seconds.toFixed(1)} s`, note: "once per template version and machine" });
  }
  rows.push({ benchmark: "disk per template workspace", measure: "beyond its own files (largest of the run)", value: `${(Math.max(pooled.perWorkspace, unpooled.perWorkspace) / 1024).toFixed(0)} KB`, note: "target under 5 MB; node_modules is the shared layer" });
  return rows;
}
