/**
 * Generations through a Kiln server in its own process (test/bench/processes.ts), with the scripted
 * model answering at once from another process and an app that needs no install: time from start to a
 * preview answering, and N generations kept running with SSE watchers (completed jobs per minute,
 * errors, API and SSE latency percentiles, the server process's RSS and CPU).
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import { waitForGeneration } from "../support/generation";
import { client } from "../support/http";
import { fmt, percentile, time, type BenchRow } from "./measure";
import { sampleProcess, type ProcessUsage, type ServerMemory, type ServerProcess } from "./processes";

/** What one load round measured. */
export interface LoadResult {
  jobs: number;
  completed: number;
  errors: number;
  seconds: number;
  perMinute: number;
  api: { p50: number; p95: number; p99: number; samples: number };
  /** Append → client of every event appended while its watcher was connected. */
  sse: { p50: number; p95: number; p99: number; samples: number };
  server: ProcessUsage;
  /** What the server said of its memory at the end of the round. */
  memory: ServerMemory;
  /** The most queries seen waiting for a connection of each service's Postgres pool (sampled every 0.5 s). */
  poolWaiting: Record<string, number>;
  /** The server's event-loop delay (ms): the worst 99th percentile of any 0.5 s window, and the worst delay. */
  serverLoop: { p99: number; max: number };
  /** The same of this process, the clients: a late client makes SSE delivery look late. */
  clientLoop: { p99: number; max: number };
}

/**
 * Follows a job's events to its final one, noting when each arrived: events appended before the watcher
 * was connected (the replay) say nothing about live delivery and are left out.
 */
async function watch(url: string, token: string, jobId: string, latencies: number[]): Promise<void> {
  const response = await fetch(`${url}/generations/${jobId}/events`, { headers: { authorization: `Bearer ${token}` } });
  if (!response.ok || !response.body) throw new Error(`event stream answered ${response.status}`);
  const connected = Date.now();
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of response.body) {
    const received = Date.now();
    buffer += decoder.decode(chunk as Uint8Array, { stream: true });
    let end: number;
    while ((end = buffer.indexOf("\n\n")) !== -1) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = /^data: (.*)$/m.exec(frame)?.[1];
      if (!data) continue;
      const event = JSON.parse(data) as { at: string; status?: string };
      const at = Date.parse(event.at);
      if (at >= connected) latencies.push(received - at);
      if (/^event: (completed|failed|cancelled)$/m.test(frame)) return;
    }
  }
}

/**
 * Keeps `jobs` generations running at once for `durationMs` (each slot starts a new one when its last
 * ends; at least one per slot), each followed by `watchersPerJob` SSE clients and a status poller
 * (every 100 ms, as a dashboard might), its project deleted once it ends.
 */
export async function loadRound(server: ServerProcess, jobs: number, watchersPerJob: number, durationMs = 0): Promise<LoadResult> {
  const api = client(server.url, server.token);
  const apiLatencies: number[] = [];
  const sseLatencies: number[] = [];
  let errors = 0;
  let started = 0;
  let completed = 0;
  const timed = async <T>(work: () => Promise<T>): Promise<T> => {
    const begin = performance.now();
    try {
      return await work();
    } finally {
      apiLatencies.push(performance.now() - begin);
    }
  };
  const oneJob = async (slot: number): Promise<void> => {
    const project = (await timed(() => api.call("POST", "/projects", { name: `load ${jobs}-${slot}-${started}` }))).body;
    const start = await timed(() => api.call("POST", "/generations", { projectId: project.id, prompt: "Build a hello page" }));
    started++;
    if (start.status !== 200) {
      errors++;
      return;
    }
    const jobId = start.body.id as string;
    const watchers = Array.from({ length: watchersPerJob }, () => watch(server.url, server.token, jobId, sseLatencies).catch(() => void errors++));
    const poller = (async () => {
      for (;;) {
        const { body } = await timed(() => api.call("GET", `/generations/${jobId}`));
        if (["completed", "failed", "cancelled"].includes(body.status)) return body.status as string;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    const [status] = await Promise.all([poller, ...watchers]);
    if (status === "completed") completed++;
    else errors++;
    // Done with it: deleting the project frees its sandbox and preview port for the next job.
    const deleted = await timed(() => api.call("DELETE", `/projects/${project.id}`));
    if (deleted.status !== 200) errors++;
  };
  const usage = sampleProcess(server.pid);
  const waiting: Record<string, number> = {};
  const serverLoop = { p99: 0, max: 0 };
  const clientLoop = monitorEventLoopDelay({ resolution: 10 });
  clientLoop.enable();
  const pools = setInterval(() => {
    void server.memory().then((m) => {
      for (const [name, pool] of Object.entries(m.pools)) waiting[name] = Math.max(waiting[name] ?? 0, pool.waiting);
      serverLoop.p99 = Math.max(serverLoop.p99, m.loop.p99);
      serverLoop.max = Math.max(serverLoop.max, m.loop.max);
    });
  }, 500);
  const begin = performance.now();
  await Promise.all(
    Array.from({ length: jobs }, async (_, slot) => {
      do await oneJob(slot);
      while (performance.now() - begin < durationMs);
    }),
  );
  const seconds = (performance.now() - begin) / 1000;
  clearInterval(pools);
  clientLoop.disable();
  const pick = (samples: number[]) => ({ p50: percentile(samples, 50), p95: percentile(samples, 95), p99: percentile(samples, 99), samples: samples.length });
  return {
    jobs: started,
    completed,
    errors,
    seconds,
    perMinute: (completed / seconds) * 60,
    api: pick(apiLatencies),
    sse: pick(sseLatencies),
    server: usage.stop(),
    memory: await server.memory(),
    poolWaiting: waiting,
    serverLoop,
    clientLoop: { p99: clientLoop.percentile(99) / 1e6, max: clientLoop.max / 1e6 },
  };
}

/**
 * Start to preview on an idle server: its first generation (which also starts the check's browser),
 * then the median of five more, each in a project of its own.
 */
export async function benchStartToPreview(server: ServerProcess): Promise<BenchRow[]> {
  const api = client(server.url, server.token);
  const statuses = new Set<number>();
  const oneGeneration = () =>
    time(async () => {
      const project = (await api.call("POST", "/projects", { name: "bench" })).body;
      const job = (await api.call("POST", "/generations", { projectId: project.id, prompt: "Build a hello page" })).body;
      const done = await waitForGeneration(api, job.id);
      if (!done.previewUrl) throw new Error(`the generation ended ${done.status} without a preview: ${done.error}`);
      statuses.add((await fetch(done.previewUrl)).status);
    });
  const first = await oneGeneration();
  const later: number[] = [];
  for (let i = 0; i < 5; i++) later.push(await oneGeneration());
  const steady = percentile(later, 50);
  const benchmark = `generation (${label(server)})`;
  const measure = "start → preview answering (scripted model, 7 model turns, 9 tool calls, the self-check)";
  const answered = `the previews answered HTTP ${[...statuses].join(", ")}`;
  return [
    { benchmark, measure: `${measure}: the server's first`, value: fmt(first), note: `it also starts the check's browser; ${answered}` },
    { benchmark, measure: `${measure}: median of the next 5`, value: fmt(steady), note: `${fmt(Math.min(...later))}–${fmt(Math.max(...later))}; ${answered} (target < 2 s${steady < 2000 ? ": met" : ": MISSED"})` },
  ];
}

/** How a server's database reads in the table. */
export const label = (server: Pick<ServerProcess, "database">) => (server.database === "postgres" ? "DATABASE_URL" : "embedded PGlite");

const mb = (bytes: number) => Math.round(bytes / 1e6);

/** The rows of one load round. */
export function loadRows(server: ServerProcess, n: number, r: LoadResult, targets = false): BenchRow[] {
  const benchmark = `load N=${n}, ${label(server)} (${Math.round(r.seconds)} s, 2 SSE watchers per job)`;
  const met = (ok: boolean) => (targets ? (ok ? ": met" : ": MISSED") : "");
  const pglite = server.database === "pglite" ? `, of which PGlite's WASM heap ${mb(r.memory.wasm)} MB` : "";
  return [
    { benchmark, measure: "jobs", value: `${r.completed}/${r.jobs} completed, ${r.errors} errors`, note: `${r.perMinute.toFixed(0)} jobs/min` },
    { benchmark, measure: "API p50 / p95 / p99", value: `${fmt(r.api.p50)} / ${fmt(r.api.p95)} / ${fmt(r.api.p99)}`, note: `${r.api.samples} requests; queries seen waiting for a database connection, at most: ${Object.entries(r.poolWaiting).map(([name, n]) => `${name} ${n}`).join(", ")}${targets && server.database === "postgres" ? ` (target p95 < 300 ms${met(r.api.p95 < 300)})` : ""}` },
    { benchmark, measure: "SSE append → client p50 / p95 / p99", value: `${fmt(r.sse.p50)} / ${fmt(r.sse.p95)} / ${fmt(r.sse.p99)}`, note: `${r.sse.samples} events received live; event-loop delay, worst p99 of a 0.5 s window / worst: server ${fmt(r.serverLoop.p99)} / ${fmt(r.serverLoop.max)}, clients (this process, p99 / worst) ${fmt(r.clientLoop.p99)} / ${fmt(r.clientLoop.max)}${targets ? ` (target p95 < 50 ms${met(r.sse.p95 < 50)})` : ""}` },
    {
      benchmark,
      measure: "server process: peak RSS, CPU",
      value: `${r.server.peakRssMb} MB, ${r.server.cpuCores.toFixed(2)} cores`,
      note: `at the end: RSS ${r.server.endRssMb} MB${pglite}, JS heap ${mb(r.memory.heapUsed)} MB, buffers ${mb(r.memory.arrayBuffers)} MB; ${(r.server.cpuSeconds / Math.max(1, r.completed)).toFixed(2)} CPU s per job${targets && server.database === "postgres" ? ` (target < 300 MB${met(r.server.peakRssMb < 300)})` : ""}`,
    },
  ];
}
