import { closeSync, mkdirSync, openSync, readFileSync, readdirSync, unlinkSync, writeSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BLOCKED_PORTS } from "../../lib/blocked-ports";
import { isAlive } from "../../lib/pids";

/**
 * Blocks of TCP ports for tests' dev servers and previews, each held by one test process at a time.
 *
 * A port picked at random, or asked of the kernel with `listen(0)` and closed again, can be taken a
 * moment later by any socket of the machine: the kernel hands out ephemeral ports for outgoing
 * connections and `listen(0)` from the same range, and a test suite opens thousands. A dev server
 * then fails to listen and exits (seen in CI: a Daytona test's app, on a port in that range). So ports
 * come from outside the ephemeral range, in blocks reserved across every process of the machine by a
 * lock file naming the holder's pid (a block whose holder is gone is taken over), and checked free.
 */

const BLOCK = 40;
const LOCK_DIR = join(tmpdir(), "kiln-test-ports");
const held = new Set<string>();

/** Ports below the kernel's ephemeral range (32768 and up unless configured otherwise), above the well-known services. */
function defaultRegion(): [number, number] {
  let ephemeralLow = 32_768;
  try {
    ephemeralLow = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]) || ephemeralLow;
  } catch {
    // not Linux: the common default
  }
  const low = 10_000;
  return [low, Math.max(low + BLOCK * 50, ephemeralLow) - 1];
}

/** Takes the lock file of the block at `first`, or of nothing when another live process holds it. */
function lock(first: number): string | undefined {
  const file = lockFileOf(first);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, "wx");
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return file;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const holder = Number(readFileSync(file, "utf8").trim());
      // A file still being written reads empty: leave it to its writer.
      if (!holder || isAlive(holder)) return undefined;
      try {
        unlinkSync(file);
      } catch {
        // another process took it over first
      }
    }
  }
  return undefined;
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen({ port, host: "0.0.0.0", exclusive: true }, () => server.close(() => resolve(true)));
  });
}

function release(): void {
  for (const file of held) {
    try {
      unlinkSync(file);
    } catch {
      // already gone
    }
  }
  held.clear();
}

/**
 * `count` (at most 40) consecutive ports nothing on this machine listens on and no other test process
 * holds, kept for this process until it exits; the first and the last. `region` is where to look.
 */
export async function reservePorts(count = BLOCK, region: [number, number] = defaultRegion()): Promise<[number, number]> {
  if (count < 1 || count > BLOCK) throw new Error(`reservePorts: ${count} ports asked, 1 to ${BLOCK} can be`);
  mkdirSync(LOCK_DIR, { recursive: true, mode: 0o1777 });
  if (held.size === 0) process.once("exit", release);
  const [low, high] = region;
  const blocks = Math.floor((high - low + 1) / BLOCK);
  const start = Math.floor(Math.random() * blocks);
  for (let i = 0; i < blocks; i++) {
    const first = low + ((start + i) % blocks) * BLOCK;
    // A block holding a port fetch refuses ("bad port") would fail whatever listens there.
    if (BLOCKED_PORTS.some((port) => port >= first && port < first + BLOCK)) continue;
    const file = lock(first);
    if (!file) continue;
    const ports = Array.from({ length: count }, (_, k) => first + k);
    if ((await Promise.all(ports.map(canListen))).every(Boolean)) {
      held.add(file);
      return [first, first + count - 1];
    }
    unlinkSync(file);
  }
  throw new Error(`no block of ${count} free ports between ${low} and ${high}; stale locks are in ${LOCK_DIR} (${readdirSync(LOCK_DIR).length} files)`);
}

/** Where the lock file of the block starting at `first` is (for tests of this module). */
export function lockFileOf(first: number): string {
  return join(LOCK_DIR, String(first));
}

/** One port, as {@link reservePorts} hands them out. */
export async function reservePort(): Promise<number> {
  return (await reservePorts(1))[0];
}
