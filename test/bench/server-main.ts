/**
 * The standalone server with its runner, as `npm start` runs it (configuration from the environment),
 * for the benchmarks to measure from outside: prints `{ url, token }` as one JSON line (after READY) once it listens,
 * answers an IPC `stats` message with its memory (and how much of it is WebAssembly memory: embedded
 * PGlite), and shuts down cleanly on SIGTERM (so `--cpu-prof` writes its profile).
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import { READY } from "./processes";
import pg from "pg";
import { loadConfig } from "../../lib/config";
import { createPinoLogger } from "../../lib/log";
import { issueToken } from "../../projects/tokens";
import { createUser } from "../../projects/users";
import { startServer } from "../../server/start";

/** What this file uses of WebAssembly (the compiler's lib has no DOM types). */
interface Wasm {
  Memory: new (descriptor: unknown) => { buffer: ArrayBuffer };
  instantiate(...args: unknown[]): Promise<unknown>;
}
const wasmApi = (globalThis as unknown as { WebAssembly: Wasm }).WebAssembly;

/** The WebAssembly memories of this process, made or exported (PGlite's heap is the only big one). */
const memories = new Set<{ buffer: ArrayBuffer }>();
const OriginalMemory = wasmApi.Memory;
const collect = (exports: Record<string, unknown>) => {
  for (const value of Object.values(exports)) if (value instanceof OriginalMemory) memories.add(value);
};
const instantiate = wasmApi.instantiate.bind(wasmApi);
wasmApi.instantiate = async (...args: unknown[]) => {
  const result = (await instantiate(...args)) as { exports?: Record<string, unknown>; instance?: { exports: Record<string, unknown> } };
  collect(result.instance?.exports ?? result.exports ?? {});
  return result;
};
const CountedMemory = function Memory(descriptor: unknown) {
  const memory = new OriginalMemory(descriptor);
  memories.add(memory);
  return memory;
};
CountedMemory.prototype = OriginalMemory.prototype;
wasmApi.Memory = CountedMemory as unknown as Wasm["Memory"];

/** Every query of this process by statement (its first words): how many, and the time until each answered (queueing for a connection included). */
const queries = new Map<string, { count: number; ms: number }>();
const query = pg.Pool.prototype.query as (...args: unknown[]) => unknown;
pg.Pool.prototype.query = function timedQuery(this: pg.Pool, ...args: unknown[]) {
  const text = typeof args[0] === "string" ? args[0] : ((args[0] as { text?: string })?.text ?? "?");
  const key = text.replace(/\s+/g, " ").trim().slice(0, 60);
  const begin = performance.now();
  const result = query.apply(this, args);
  if (result instanceof Promise) {
    void result.then(
      () => undefined,
      () => undefined,
    ).finally(() => {
      const entry = queries.get(key) ?? { count: 0, ms: 0 };
      entry.count++;
      entry.ms += performance.now() - begin;
      queries.set(key, entry);
    });
  }
  return result;
} as typeof pg.Pool.prototype.query;

const config = loadConfig(process.env);
const log = createPinoLogger(config.logLevel);
const server = await startServer(config, log);
const db = server.kiln.databases.pool("projects");
const userID = await createUser(db, "bench");
const { token } = await issueToken(db, userID, "bench");
process.stdout.write(`${READY}${JSON.stringify({ url: server.url, token, database: server.kiln.databases.kind })}\n`);

/** How late the event loop ran its callbacks: the time any event waits in this process before it is handled. */
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();

process.on("message", (message: unknown) => {
  if (message !== "stats") return;
  // Since the last stats: each answer says how the loop fared in its own window.
  const loop = { p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 };
  loopDelay.reset();
  const usage = process.memoryUsage();
  const wasm = [...memories].reduce((sum, memory) => sum + memory.buffer.byteLength, 0);
  const pools = Object.fromEntries(["projects", "workspace", "ai"].map((name) => {
    const pool = server.kiln.databases.pool(name);
    return [name, { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }];
  }));
  process.send?.({ loop, queries: Object.fromEntries(queries), pools, rss: usage.rss, heapUsed: usage.heapUsed, heapTotal: usage.heapTotal, external: usage.external, arrayBuffers: usage.arrayBuffers, wasm });
});
process.on("SIGTERM", () => {
  void server.shutdown().finally(() => process.exit(0));
});
