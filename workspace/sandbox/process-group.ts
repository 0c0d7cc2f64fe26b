import { spawn } from "node:child_process";
import type { Readable, Writable } from "node:stream";

/** How to start one sandbox command on the host: program, argv, working directory, whole environment. */
export interface LaunchSpec {
  file: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  /**
   * The program reports `{"child-pid": N}` on fd 3 (`bwrap --info-fd 3`): N leads the sandbox's own session
   * and is the init of its pid namespace, so signalling its group reaches the command, and SIGKILL to it
   * ends every process of the namespace, even one that left the group.
   */
  reportsSandboxPid?: boolean;
  /** Arguments the program reads NUL-separated from fd 4 (`bwrap --args 4`), kept out of its command line. */
  argsOnFd4?: string[];
}

/** How a process group ended: the leader's exit code (null when it was killed) or why it never ran. */
export interface GroupExit {
  exitCode: number | null;
  spawnError?: Error;
}

/** A command running as the leader of its own process group. */
export interface GroupProcess {
  /** Resolves once the leader has exited and its output is drained; anything left in the group is killed. */
  readonly finished: Promise<GroupExit>;
  readonly running: boolean;
  /** SIGTERM to the whole group, SIGKILL after the grace period; resolves once finished. */
  terminate(): Promise<void>;
}

/** Sends `signal` to every process of the group led by `pid`; a group that is already gone is fine. */
function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** The first `child-pid` the program writes on `info` (see {@link LaunchSpec.reportsSandboxPid}), or undefined when it writes none. */
function readSandboxPid(info: Readable): Promise<number | undefined> {
  return new Promise((resolve) => {
    let text = "";
    info.on("data", (chunk: Buffer) => {
      text += chunk.toString("utf8");
      try {
        const pid = (JSON.parse(text) as { "child-pid"?: unknown })["child-pid"];
        resolve(typeof pid === "number" ? pid : undefined);
        info.destroy();
      } catch {
        // not a whole JSON object yet
      }
    });
    info.once("close", () => resolve(undefined));
    info.once("error", () => resolve(undefined));
  });
}

/**
 * Starts `spec` in a new session and process group (`detached`), stdin closed, stdout and stderr handed
 * to `onOutput` chunk by chunk. Killing reaches the group and, for a sandbox that reports its pid, the
 * sandbox's own group and pid namespace. When the leader exits, whatever it left behind is killed, so no
 * command outlives its run; the output is then drained for at most `graceMs`.
 */
export function spawnGroup(
  spec: LaunchSpec,
  onOutput: (stream: "stdout" | "stderr", chunk: Buffer) => void,
  graceMs: number,
): GroupProcess {
  const child = spawn(spec.file, spec.args, {
    cwd: spec.cwd,
    env: spec.env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe", spec.reportsSandboxPid ? "pipe" : "ignore", spec.argsOnFd4 ? "pipe" : "ignore"],
  });
  if (spec.argsOnFd4) {
    const args = child.stdio[4] as Writable;
    args.on("error", () => {}); // a program that died before reading them reports that through its exit
    args.end(spec.argsOnFd4.map((arg) => `${arg}\0`).join(""));
  }
  const stdout = child.stdio[1] as Readable;
  const stderr = child.stdio[2] as Readable;
  const info = spec.reportsSandboxPid ? (child.stdio[3] as Readable) : undefined;
  const sandboxPid = info ? readSandboxPid(info) : Promise.resolve(undefined);
  let innerPid: number | undefined;
  void sandboxPid.then((pid) => (innerPid = pid));
  const killAll = () => {
    signalGroup(innerPid, "SIGKILL");
    signalGroup(child.pid, "SIGKILL");
  };
  stdout.on("data", (chunk: Buffer) => onOutput("stdout", chunk));
  stderr.on("data", (chunk: Buffer) => onOutput("stderr", chunk));
  let running = true;
  let killed = false;
  const finished = new Promise<GroupExit>((resolve) => {
    const settle = (exit: GroupExit) => {
      running = false;
      resolve(exit);
    };
    child.once("error", (err) => settle({ exitCode: null, spawnError: err }));
    child.once("exit", () => {
      killAll();
      // A process that left the group (setsid) may still hold the pipes open: stop waiting for it.
      setTimeout(() => {
        stdout.destroy();
        stderr.destroy();
      }, graceMs).unref();
    });
    child.once("close", (code) => settle({ exitCode: killed ? null : code }));
  });
  return {
    finished,
    get running() {
      return running;
    },
    async terminate() {
      if (!running) return;
      killed = true;
      // SIGTERM where the command runs (the sandbox's group once it has reported it), SIGKILL to all after the grace period.
      const inner = await Promise.race([sandboxPid, delay(graceMs).then(() => undefined)]);
      signalGroup(inner ?? child.pid, "SIGTERM");
      const done = await Promise.race([finished.then(() => true), delay(graceMs).then(() => false)]);
      if (!done) killAll();
      await finished;
    },
  };
}
