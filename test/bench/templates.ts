/**
 * Templates, side by side in one run: POST /generations → the first preview answering for a vite-react
 * project with its dependencies already installed (preview_ready), against the same app scaffolded in a
 * fresh sandbox by `npm install` and its dev server (the naive path); the one-time cold install of each
 * template into an empty cache; and the disk a template workspace costs beyond its own files.
 */
import { execFileSync } from "node:child_process";
import { rm } from "node:fs/promises";
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
  if (!ready) throw new Error(`no preview_ready: ${events.map((e) => e.event).join(" ")}`);
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

/** A model that thinks for a while and then stops: the preview must come during its first turn. */
const THINKING_MS = 8000;

/** Every template benchmark's rows: `workspace` (the main bench server's) serves the naive path, a server of its own the first previews. */
export async function benchTemplates(workspace: WorkspaceApi): Promise<BenchRow[]> {
  const stack = await startGenerationStack({
    script: async () => {
      await new Promise((resolve) => setTimeout(resolve, THINKING_MS));
      return { content: [{ type: "text", text: "Done thinking." }] };
    },
    env: { KILN_RUNNER_CONCURRENCY: "8", KILN_WORKSPACE_POLL_MS: "2000", LOG_LEVEL: "warn" },
  });
  const warm: Array<{ ready: number; page: number }> = [];
  let perWorkspace: string;
  try {
    await toFirstPreview(stack.kiln, stack.token, "warm-up");
    for (let i = 0; i < 5; i++) warm.push(await toFirstPreview(stack.kiln, stack.token, `warm ${i}`));
    const sandboxes = join(stack.kiln.config.dataDir, "sandboxes");
    perWorkspace = execFileSync("sh", ["-c", 'for d in "$1"/sbx_*; do du -sb --exclude=project "$d" | cut -f1; done | sort -n | tail -1', "sh", sandboxes], { encoding: "utf8" }).trim();
  } finally {
    await stack.close();
  }
  const naive = await scaffolded(workspace);
  const warmMs = percentile(warm.map((w) => w.ready), 50);
  const rows: BenchRow[] = [
    {
      benchmark: "first preview, vite-react (warm template cache)",
      measure: "POST /generations → preview_ready, median of 5",
      value: fmt(warmMs),
      note: `naive path (fresh sandbox, npm install, dev server): ${fmt(naive)}; ×${(naive / warmMs).toFixed(0)} faster (target under 1.5 s and ≥ 20×)`,
    },
    {
      benchmark: "first page, vite-react (warm template cache)",
      measure: "preview_ready → every module of the page loaded, median of 5",
      value: fmt(percentile(warm.map((w) => w.page), 50)),
      note: "index.html, the app's modules, React from the shared pre-bundle, the CSS through Tailwind",
    },
  ];
  for (const cold of await coldInstalls()) {
    rows.push({ benchmark: `cold install, ${cold.name}`, measure: "first workspace of a template version into an empty cache", value: `${cold.seconds.toFixed(1)} s`, note: "once per template version and machine" });
  }
  rows.push({ benchmark: "disk per template workspace", measure: "beyond its own files (largest of the run)", value: `${(Number(perWorkspace) / 1024).toFixed(0)} KB`, note: "target under 5 MB; node_modules is the shared layer" });
  return rows;
}
