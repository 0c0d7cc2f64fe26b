import { readdir, readFile } from "node:fs/promises";

/** Pids of this machine's processes (other than this one) whose environment has `HOME=<home>`. */
async function processesWithHome(home: string): Promise<number[]> {
  const needle = Buffer.from(`\0HOME=${home}\0`);
  const pids = (await readdir("/proc")).filter((name) => /^\d+$/.test(name) && Number(name) !== process.pid);
  const found = await Promise.all(
    pids.map(async (pid) => {
      const environ = await readFile(`/proc/${pid}/environ`).catch(() => undefined);
      return environ && Buffer.concat([Buffer.from([0]), environ]).includes(needle) ? Number(pid) : undefined;
    }),
  );
  return found.filter((pid): pid is number => pid !== undefined);
}

/**
 * Kills (SIGKILL) every process of this machine whose environment has `HOME=<home>`: what stopping a
 * container does to the processes of a Daytona sandbox, for the fake's local sandboxes, whose commands
 * all start with HOME set to their directory (even those that left their process group with setsid).
 * Scans again until three scans in a row find none, so a child forked during a scan is caught by a later one.
 */
export async function killProcessesWithHome(home: string): Promise<void> {
  // Done after three empty scans in a row: a process caught mid-fork or mid-exec shows up in a later one.
  for (let round = 0, empty = 0; round < 100 && empty < 3; round++) {
    const pids = await processesWithHome(home);
    empty = pids.length === 0 ? empty + 1 : 0;
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
