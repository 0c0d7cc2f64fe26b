/**
 * The load benchmarks, each on a Kiln server process of its own with the stand-ins in another: start to
 * preview and the load curve per database (embedded PGlite, DATABASE_URL), a CPU profile of the
 * heaviest round, and a soak that looks for memory growth.
 */
import { copyFile, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { benchStartToPreview, label, loadRound, loadRows } from "./generations";
import { fmt, type BenchRow } from "./measure";
import { slope, startFakes, startServerProcess, type ServerProcess } from "./processes";
import { summarizeProfile } from "./profile";

const seconds = (name: string, fallback: number) => Number(process.env[name] ?? fallback) * 1000;

/** The databases to measure: PGlite, and the Postgres server at DATABASE_URL when set. */
function databases(): (string | undefined)[] {
  const asked = (process.env.BENCH_DATABASES ?? (process.env.DATABASE_URL ? "pglite,postgres" : "pglite")).split(",");
  return asked.map((kind) => {
    if (kind === "pglite") return undefined;
    if (kind === "postgres" && process.env.DATABASE_URL) return process.env.DATABASE_URL;
    throw new Error(`BENCH_DATABASES: ${kind} is not pglite, or postgres with DATABASE_URL set`);
  });
}

/** Runs `work` against a fresh server on `databaseUrl` (PGlite when undefined) and fresh stand-ins. */
async function withServer<T>(databaseUrl: string | undefined, work: (server: ServerProcess) => Promise<T>, profileDir?: string): Promise<T> {
  const fakes = await startFakes();
  try {
    const server = await startServerProcess({ fakes, databaseUrl, profileDir });
    try {
      return await work(server);
    } finally {
      await server.close();
    }
  } finally {
    await fakes.close();
  }
}

/** Start to preview, then each N of the load curve, on each database; the rows side by side. */
export async function benchLoad(): Promise<BenchRow[]> {
  const curve = (process.env.BENCH_LOAD ?? "20").split(",").filter(Boolean).map(Number);
  const duration = seconds("BENCH_LOAD_SECONDS", 30);
  const rows: BenchRow[] = [];
  for (const databaseUrl of databases()) {
    rows.push(
      ...(await withServer(databaseUrl, async (server) => {
        const out = await benchStartToPreview(server);
        const idle = await server.memory();
        out.push({ benchmark: `server process (${label(server)})`, measure: "RSS when idle, after six generations", value: `${Math.round(idle.rss / 1e6)} MB`, note: `JS heap ${Math.round(idle.heapUsed / 1e6)} MB${server.database === "pglite" ? `, PGlite's WASM heap ${Math.round(idle.wasm / 1e6)} MB` : ""}` });
        for (const n of curve) out.push(...loadRows(server, n, await loadRound(server, n, 2, duration), n === 20));
        return out;
      })),
    );
  }
  return rows;
}

/**
 * The heaviest round (`BENCH_PROFILE_N`, default 50) on DATABASE_URL (else PGlite) with a V8 CPU profile
 * of the server process: where its CPU time went, by function. `BENCH_PROFILE_OUT` keeps the profile
 * (a .cpuprofile file, for Chrome's DevTools) at that path.
 */
export async function benchProfile(): Promise<BenchRow[]> {
  const n = Number(process.env.BENCH_PROFILE_N ?? 50);
  const dir = await mkdtemp(join(tmpdir(), "kiln-bench-profile-"));
  try {
    const databaseUrl = process.env.DATABASE_URL;
    let kind = "";
    const round = await withServer(
      databaseUrl,
      async (server) => {
        kind = label(server);
        return loadRound(server, n, 2, seconds("BENCH_LOAD_SECONDS", 30));
      },
      dir,
    );
    const file = (await readdir(dir)).find((name) => name.endsWith(".cpuprofile"));
    const top = file ? summarizeProfile(JSON.parse(await readFile(join(dir, file), "utf8")), 12) : [];
    if (file && process.env.BENCH_PROFILE_OUT) await copyFile(join(dir, file), process.env.BENCH_PROFILE_OUT);
    const benchmark = `profile: load N=${n}, ${kind}, with --cpu-prof`;
    const statements = Object.entries(round.memory.queries).sort((a, b) => b[1].ms - a[1].ms);
    const dbMs = statements.reduce((sum, [, q]) => sum + q.ms, 0);
    return [
      ...loadRows({ database: databaseUrl ? "postgres" : "pglite" } as ServerProcess, n, round).map((row) => ({ ...row, benchmark })),
      ...statements.slice(0, 8).map(([text, q], i) => ({ benchmark, measure: `database #${i + 1}: \`${text.replace(/\|/g, "/")}…\``, value: `${((100 * q.ms) / dbMs).toFixed(1)}% of query time`, note: `${q.count} queries (${(q.count / round.completed).toFixed(0)} per job), ${fmt(q.ms / q.count)} each until answered, waiting for a connection included` })),
      ...top.map((entry, i) => ({ benchmark, measure: `CPU #${i + 1}: ${entry.name}`, value: `${entry.percent.toFixed(1)}%`, note: entry.where })),
    ];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * 10 generations kept running for `BENCH_SOAK_SECONDS` (default 600) on DATABASE_URL (else PGlite):
 * the server's RSS and JS heap sampled every 10 s, the slope of each after the first fifth (warm-up).
 */
export async function benchSoak(): Promise<BenchRow[]> {
  const duration = seconds("BENCH_SOAK_SECONDS", 600);
  const databaseUrl = process.env.DATABASE_URL;
  return withServer(databaseUrl, async (server) => {
    const points: { at: number; rss: number; heap: number }[] = [];
    const begin = performance.now();
    const sampler = setInterval(() => {
      void server.memory().then((m) => points.push({ at: (performance.now() - begin) / 60_000, rss: m.rss / 1e6, heap: m.heapUsed / 1e6 }));
    }, 10_000);
    let round;
    try {
      round = await loadRound(server, 10, 2, duration);
    } finally {
      clearInterval(sampler);
    }
    const warm = points.filter((p) => p.at >= duration / 60_000 / 5);
    const rssSlope = slope(warm.map((p) => [p.at, p.rss]));
    const heapSlope = slope(warm.map((p) => [p.at, p.heap]));
    const first = warm[0];
    const last = warm.at(-1);
    const benchmark = `soak: N=10 for ${Math.round(round.seconds / 60)} min, ${label(server)}`;
    return [
      { benchmark, measure: "jobs", value: `${round.completed}/${round.jobs} completed, ${round.errors} errors`, note: `${round.perMinute.toFixed(0)} jobs/min; API p95 ${fmt(round.api.p95)}, SSE p95 ${fmt(round.sse.p95)}` },
      { benchmark, measure: "server RSS after warm-up: slope", value: `${rssSlope.toFixed(2)} MB/min`, note: `${first?.rss.toFixed(0)} → ${last?.rss.toFixed(0)} MB over ${warm.length} samples (10 s apart, the first fifth left out); peak ${round.server.peakRssMb} MB` },
      { benchmark, measure: "server JS heap after warm-up: slope", value: `${heapSlope.toFixed(2)} MB/min`, note: `${first?.heap.toFixed(0)} → ${last?.heap.toFixed(0)} MB (sampled after whatever GC ran; not forced)` },
    ];
  });
}
