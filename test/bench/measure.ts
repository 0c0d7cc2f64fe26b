import { readdirSync, readFileSync } from "node:fs";
/** Timing helpers shared by the benchmarks. */

/** Milliseconds `work` took. */
export async function time(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

/** The median of several runs of `work`, in milliseconds (after one warm-up run). */
export async function median(runs: number, work: () => Promise<unknown>): Promise<number> {
  await work();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) samples.push(await time(work));
  return percentile(samples, 50);
}

/** The p-th percentile of `samples` (nearest rank). */
export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/**
 * The proportional memory (PSS, MB) of this process's Chromium processes, read from /proc: shared pages
 * are split among the processes sharing them, so the sum is what the browser really costs.
 */
export function chromiumPssMb(): number {
  let kb = 0;
  for (const pid of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
    try {
      const stat = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (!/chromium|chrome/.test(stat.split("\0")[0] ?? "") || !descendsFrom(Number(pid), process.pid)) continue;
      kb += Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"))?.[1] ?? 0);
    } catch {
      // The process ended while it was read.
    }
  }
  return Math.round(kb / 1024);
}

function descendsFrom(pid: number, ancestor: number): boolean {
  for (let current = pid, hops = 0; current > 1 && hops < 20; hops++) {
    if (current === ancestor) return true;
    current = Number(/^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${current}/status`, "utf8"))?.[1] ?? 0);
  }
  return false;
}

/** One line of a benchmark's results. */
export interface BenchRow {
  benchmark: string;
  measure: string;
  value: string;
  note?: string;
}

/** `n` pseudo-random files of about `bytes` each (deterministic, mostly text, some binary). */
export function projectFiles(n: number, bytes: number, seed = 1): { path: string; content: Buffer }[] {
  let state = seed;
  const next = () => (state = (state * 1103515245 + 12345) % 2 ** 31);
  return Array.from({ length: n }, (_, i) => {
    const content = Buffer.alloc(bytes);
    for (let j = 0; j < bytes; j++) content[j] = i % 10 === 0 ? next() % 256 : 32 + (next() % 90);
    return { path: `src/module-${Math.floor(i / 20)}/file-${i}.${i % 10 === 0 ? "bin" : "ts"}`, content };
  });
}

export const fmt = (ms: number) => (ms >= 100 ? `${Math.round(ms)} ms` : `${ms.toFixed(1)} ms`);
