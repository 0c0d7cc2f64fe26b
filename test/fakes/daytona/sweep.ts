import { readdir, readFile } from "node:fs/promises";

/**
 * Kills (SIGKILL) every process of this machine whose environment has `HOME=<home>`: what stopping a
 * container does to the processes of a Daytona sandbox, for the fake's local sandboxes, whose commands
 * all start with HOME set to their directory (even those that left their process group with setsid).
 */
export async function killProcessesWithHome(home: string): Promise<number> {
  const needle = Buffer.from(`\0HOME=${home}\0`);
  const pids = (await readdir("/proc")).filter((name) => /^\d+$/.test(name) && Number(name) !== process.pid);
  let killed = 0;
  await Promise.all(
    pids.map(async (pid) => {
      const environ = await readFile(`/proc/${pid}/environ`).catch(() => undefined);
      if (!environ || !Buffer.concat([Buffer.from([0]), environ]).includes(needle)) return;
      try {
        process.kill(Number(pid), "SIGKILL");
        killed++;
      } catch {
        // already gone
      }
    }),
  );
  return killed;
}
