/**
 * Generations through the standalone server over HTTP, with the scripted model answering instantly and
 * an app that needs no install: time from start to a preview answering, and N concurrent jobs with
 * SSE watchers (completed jobs per minute, errors, API and SSE latency percentiles, peak memory).
 */
import { readEvents, waitForGeneration } from "../support/generation";
import { client } from "../support/http";
import type { TestKiln } from "../support/kiln";
import { fmt, peakRss, percentile, time, type BenchRow } from "./measure";

/** What one load round measured. */
export interface LoadResult {
  jobs: number;
  watchers: number;
  completed: number;
  errors: number;
  seconds: number;
  perMinute: number;
  api: { p50: number; p95: number; p99: number };
  sse: { p50: number; p95: number; p99: number };
  peakRssMb: number;
}

/**
 * Keeps `jobs` generations running at once for `durationMs` (each slot starts a new one when its last
 * ends; at least one per slot), each followed by `watchersPerJob` SSE clients and a status poller.
 */
export async function loadRound(kiln: TestKiln, token: string, jobs: number, watchersPerJob: number, durationMs = 0): Promise<LoadResult> {
  const api = client(kiln.url, token);
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
    const watchers = Array.from({ length: watchersPerJob }, () =>
      readEvents(kiln.url, token, jobId).then((events) => {
        const received = Date.now();
        // Events replayed from before the watcher connected say nothing about live delivery: the last one does.
        const live = events.at(-1);
        if (live) sseLatencies.push(received - Date.parse(live.data.at as string));
      }),
    );
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
  const memory = peakRss();
  const begin = performance.now();
  await Promise.all(
    Array.from({ length: jobs }, async (_, slot) => {
      do await oneJob(slot);
      while (performance.now() - begin < durationMs);
    }),
  );
  const seconds = (performance.now() - begin) / 1000;
  const pick = (samples: number[]) => ({ p50: percentile(samples, 50), p95: percentile(samples, 95), p99: percentile(samples, 99) });
  return { jobs: started, watchers: started * watchersPerJob, completed, errors, seconds, perMinute: (completed / seconds) * 60, api: pick(apiLatencies), sse: pick(sseLatencies), peakRssMb: memory.stop() };
}

/** Start to preview for one generation, then 20 at once (the targets). */
export async function benchGenerations(kiln: TestKiln, token: string): Promise<BenchRow[]> {
  const api = client(kiln.url, token);
  const project = (await api.call("POST", "/projects", { name: "bench" })).body;
  let previewStatus = 0;
  const single = await time(async () => {
    const job = (await api.call("POST", "/generations", { projectId: project.id, prompt: "Build a hello page" })).body;
    const done = await waitForGeneration(api, job.id);
    previewStatus = (await fetch(done.previewUrl)).status;
  });
  const twenty = await loadRound(kiln, token, 20, 1);
  return [
    { benchmark: "generation", measure: "start → preview answering (scripted model, 7 model turns, 9 tool calls)", value: fmt(single), note: `preview answered HTTP ${previewStatus} (target < 2 s)` },
    { benchmark: "generation", measure: "20 concurrent jobs on one process", value: `${twenty.completed}/20 completed, ${twenty.errors} errors`, note: `${twenty.seconds.toFixed(1)} s in all` },
    { benchmark: "generation", measure: "p95 SSE delivery, event append → client", value: fmt(twenty.sse.p95), note: "target < 50 ms" },
    { benchmark: "generation", measure: "peak RSS of the process", value: `${twenty.peakRssMb} MB`, note: "server, runner, embedded Postgres when used, and the fakes, in one process (target < 300 MB)" },
  ];
}
