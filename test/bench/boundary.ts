/**
 * The local sandbox's boundary, before and after, side by side in one run: the provider of commit
 * `BENCH_BOUNDARY_BEFORE` (host-side file operations, a bubblewrap per command, the host's network;
 * checked out into a temporary git worktree) against today's (a toolbox inside one bubblewrap per
 * sandbox, its own network). Batch write and read of 200 files / 2 MB, an exec round trip, and a
 * sandbox's start to running.
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, rm, symlink } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Logger } from "../../lib/log";
import { createLocalProvider } from "../../workspace/sandbox/local";
import type { SandboxProvider } from "../../workspace/sandbox/provider";
import { searchableTempDir } from "../support/isolation";
import { fmt, median, projectFiles, type BenchRow } from "./measure";

/** The last commit before the toolbox boundary. */
const BEFORE = process.env.BENCH_BOUNDARY_BEFORE ?? "0ee2975";
const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };

interface Figures {
  write: number;
  read: number;
  exec: number;
  start: number;
}

async function measure(provider: SandboxProvider): Promise<Figures> {
  const files = projectFiles(200, 10_000);
  const paths = files.map((file) => file.path);
  const sandbox = await provider.create({ workspaceId: "wsp_bench", projectId: "prj_bench" });
  const figures = {
    write: await median(7, () => provider.writeFiles(sandbox.id, files)),
    read: await median(7, () => provider.readFiles(sandbox.id, paths)),
    exec: await median(15, () => provider.exec(sandbox.id, { command: "true", timeoutMs: 10_000, maxOutputBytes: 4096 })),
    start: await median(5, async () => {
      const started = await provider.create({ workspaceId: "wsp_start", projectId: "prj_start" });
      await provider.delete(started.id);
    }),
  };
  await provider.delete(sandbox.id);
  return figures;
}

/** The provider as it was at {@link BEFORE}, from a temporary worktree sharing this checkout's node_modules. */
async function beforeProvider(root: string): Promise<{ provider: SandboxProvider; cleanup: () => Promise<void> }> {
  const tree = await mkdtemp(join(root, "before-"));
  execFileSync("git", ["worktree", "add", "--detach", tree, BEFORE], { cwd: ROOT, stdio: "ignore" });
  await symlink(join(ROOT, "node_modules"), join(tree, "node_modules"));
  const old = (await import(join(tree, "workspace/sandbox/local.ts"))) as { createLocalProvider: (options: Record<string, unknown>) => Promise<SandboxProvider> };
  const provider = await old.createLocalProvider({ root: join(root, "before-data"), portRange: [31000, 31001], log: silent, useBubblewrap: true });
  return {
    provider,
    cleanup: async () => {
      await provider.close();
      execFileSync("git", ["worktree", "remove", "--force", tree], { cwd: ROOT, stdio: "ignore" });
    },
  };
}

export async function benchBoundary(): Promise<BenchRow[]> {
  const root = await searchableTempDir("kiln-bench-boundary-");
  try {
    const afterStarted = performance.now();
    const current = await createLocalProvider({ root: join(root, "after-data"), portRange: [31002, 31003], log: silent });
    const providerStart = performance.now() - afterStarted;
    const after = await measure(current);
    await current.close();
    let before: Figures | undefined;
    let why = "";
    try {
      const old = await beforeProvider(root);
      before = await measure(old.provider).finally(() => old.cleanup());
    } catch (err) {
      why = `the provider of ${BEFORE} could not run here: ${(err as Error).message.split("\n")[0]}`;
    }
    const row = (measure: string, key: keyof Figures): BenchRow => ({
      benchmark: "local sandbox boundary",
      measure,
      value: fmt(after[key]),
      note: before ? `before (${BEFORE}): ${fmt(before[key])}; ×${(after[key] / before[key]).toFixed(2)}` : why,
    });
    return [
      row("write 200 files / 2 MB, one batch", "write"),
      row("read them back, one batch", "read"),
      row("exec round trip (`true`)", "exec"),
      row("sandbox start to running (create + delete)", "start"),
      { benchmark: "local sandbox boundary", measure: "provider start (trial sandbox)", value: fmt(providerStart), note: "once per process" },
    ];
  } finally {
    await rm(root, { recursive: true, force: true });
    execFileSync("git", ["worktree", "prune"], { cwd: ROOT, stdio: "ignore" });
  }
}
