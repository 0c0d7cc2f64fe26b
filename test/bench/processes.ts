/**
 * The processes the load benchmarks measure from outside: the stand-ins for MongoDB and the model in
 * one process, the Kiln server (with its runner) in another, built and started as `npm start` does
 * (scripts/build.ts, then plain Node), and a sampler of the server's RSS and CPU from /proc.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { dropSchemas } from "../../lib/postgres";
import { DATABASE_OWNERS } from "../../server/compose";
import { scriptedSessionIsolation, searchableTempDir } from "../support/isolation";
import { TEST_TEMPLATE_CACHE } from "../support/templates";
import { ROOT } from "../../lib/root";
import { buildPrograms, DIST, startFlags } from "../../scripts/build";

/** What a benchmark child prints before its JSON answer when it is ready. */
export const READY = "kiln-bench-ready ";

/** A child process running `args` (after Node's own) that printed one JSON line when ready. */
async function startChild<T>(script: string, args: string[], env: Record<string, string>): Promise<{ child: ChildProcess; ready: T }> {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "inherit", "ipc"],
  });
  const lines = createInterface({ input: child.stdout! });
  const ready = await new Promise<T>((done, fail) => {
    child.once("exit", (code) => fail(new Error(`${script} exited with ${code} before it was ready`)));
    // The child's log lines go to the same stdout: its answer is the line after the marker.
    lines.on("line", (line) => {
      if (line.startsWith(READY)) done(JSON.parse(line.slice(READY.length)) as T);
    });
  });
  child.removeAllListeners("exit");
  return { child, ready };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((done) => child.once("exit", done));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  await exited;
  clearTimeout(timer);
}

/** The stand-ins for MongoDB and the model, in their own process. */
export async function startFakes(): Promise<{ mongoUri: string; modelUrl: string; pid: number; close(): Promise<void> }> {
  const script = "test/bench/fakes-main.ts";
  const { child, ready } = await startChild<{ mongoUri: string; modelUrl: string }>(script, ["--import", "tsx", join(ROOT, script)], {});
  return { ...ready, pid: child.pid!, close: () => stop(child) };
}

/** What the server process says of its own memory. */
export interface ServerMemory {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  /** WebAssembly memory: embedded PGlite's heap. */
  wasm: number;
  /** Queries since the start by statement (first words): how many, and milliseconds until answered in all. */
  queries: Record<string, { count: number; ms: number }>;
  /** The event loop's delay since the previous answer (ms): 99th percentile and worst. */
  loop: { p99: number; max: number };
  /** Each service's Postgres pool: connections open, idle, and queries waiting for one. */
  pools: Record<string, { total: number; idle: number; waiting: number }>;
}

/** A Kiln server in a process of its own. */
export interface ServerProcess {
  url: string;
  token: string;
  pid: number;
  database: "postgres" | "pglite";
  memory(): Promise<ServerMemory>;
  close(): Promise<void>;
}

/**
 * Starts the server against the fakes: with `databaseUrl`, on that Postgres server (schemas of its own,
 * dropped on close), else embedded PGlite on disk under a fresh data directory, as `npm start` keeps
 * it. `profileDir` writes a V8 CPU profile there when the server stops.
 */
export async function startServerProcess(options: { fakes: { mongoUri: string; modelUrl: string }; databaseUrl?: string; profileDir?: string; env?: Record<string, string> }): Promise<ServerProcess> {
  const dataDir = await searchableTempDir("kiln-bench-server-");
  const prefix = `bench${randomBytes(3).toString("hex")}_`;
  const env: Record<string, string> = {
    PORT: "0",
    HOST: "127.0.0.1",
    KILN_DATA_DIR: dataDir,
    KILN_SCHEMA_PREFIX: prefix,
    // Empty is unset (embedded PGlite), and overrides this process's DATABASE_URL in the child's environment.
    DATABASE_URL: options.databaseUrl ?? "",
    MONGODB_URI: options.fakes.mongoUri,
    KILN_MONGODB_DATABASE: `bench_${prefix}`,
    ANTHROPIC_BASE_URL: options.fakes.modelUrl,
    ANTHROPIC_API_KEY: "sk-bench",
    KILN_RUNNER_CONCURRENCY: "64",
    KILN_WORKSPACE_POLL_MS: "20",
    KILN_PREVIEW_PORTS: "30000-30299",
    KILN_SANDBOX_ISOLATION: scriptedSessionIsolation("the benchmark's server"),
    KILN_DEFAULT_TEMPLATE: "blank",
    KILN_WARM_POOL: "0",
    KILN_TEMPLATE_CACHE: TEST_TEMPLATE_CACHE,
    LOG_LEVEL: "warn",
    ...options.env,
  };
  const profile = options.profileDir ? ["--cpu-prof", `--cpu-prof-dir=${options.profileDir}`] : [];
  // Built and run as `npm start` runs the server: plain JavaScript on Node, with its flags.
  const { server } = await buildPrograms({ server: "test/bench/server-main.ts" }, join(DIST, "bench"));
  const { child, ready } = await startChild<{ url: string; token: string; database: "postgres" | "pglite" }>("test/bench/server-main.ts", [...profile, ...startFlags(), server!], env);
  const asked = options.databaseUrl ? "postgres" : "pglite";
  if (ready.database !== asked) {
    await stop(child);
    throw new Error(`the benchmark's server runs on ${ready.database}, not ${asked} as asked`);
  }
  return {
    ...ready,
    pid: child.pid!,
    memory: () =>
      new Promise<ServerMemory>((done) => {
        child.once("message", (m) => done(m as ServerMemory));
        child.send("stats");
      }),
    close: async () => {
      await stop(child);
      if (options.databaseUrl) await dropSchemas(options.databaseUrl, DATABASE_OWNERS.map((o) => `${prefix}${o.service}`));
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** RSS (bytes) and CPU time (seconds) of one process, from /proc. */
function readProc(pid: number): { rss: number; cpu: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const rss = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0) * 1024;
  // Fields 14 and 15 of stat (utime, stime), counted after the command name's closing parenthesis.
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { rss, cpu: ticks / 100 };
}

/** What a sampler saw of a process over its window. */
export interface ProcessUsage {
  peakRssMb: number;
  endRssMb: number;
  /** CPU seconds used in the window. */
  cpuSeconds: number;
  /** Average CPU over the window, in cores (1 = one core busy all the time). */
  cpuCores: number;
  /** (seconds since start, RSS MB) every sample. */
  samples: [number, number][];
}

/** Samples `pid`'s RSS and CPU every `intervalMs` until stopped. */
export function sampleProcess(pid: number, intervalMs = 100): { stop(): ProcessUsage } {
  const start = performance.now();
  const first = readProc(pid);
  let peak = first.rss;
  let last = first;
  const samples: [number, number][] = [[0, first.rss / 1e6]];
  const timer = setInterval(() => {
    try {
      last = readProc(pid);
      peak = Math.max(peak, last.rss);
      samples.push([(performance.now() - start) / 1000, last.rss / 1e6]);
    } catch {
      // The process ended.
    }
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      try {
        last = readProc(pid);
      } catch {
        // Ended: keep the last sample.
      }
      const seconds = (performance.now() - start) / 1000;
      const cpuSeconds = last.cpu - first.cpu;
      return { peakRssMb: Math.round(Math.max(peak, last.rss) / 1e6), endRssMb: Math.round(last.rss / 1e6), cpuSeconds, cpuCores: cpuSeconds / seconds, samples };
    },
  };
}

/** The least-squares slope of `points` (y per x). */
export function slope(points: [number, number][]): number {
  const n = points.length;
  if (n < 2) return NaN;
  const mx = points.reduce((s, p) => s + p[0], 0) / n;
  const my = points.reduce((s, p) => s + p[1], 0) / n;
  const sxy = points.reduce((s, p) => s + (p[0] - mx) * (p[1] - my), 0);
  const sxx = points.reduce((s, p) => s + (p[0] - mx) ** 2, 0);
  return sxy / sxx;
}
