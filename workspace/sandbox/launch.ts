import { join, posix } from "node:path";
import { bwrapOptions, findOnPath, nodePrefix, SANDBOX_PROJECT_DIR, systemBinds } from "./bwrap";
import type { LaunchSpec } from "./process-group";
import { runCommand } from "./run-command";

const STANDARD_PATH = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

/** Turns a sandbox command into the host process that runs it. */
export interface Launcher {
  /**
   * How to run `command` as `bash -lc <command>` in `cwd` (relative to the project directory, already
   * checked) with `env` over the minimal base environment: PATH, HOME (the project), TERM, LANG.
   */
  launch(projectDir: string, cwd: string, env: Record<string, string>, command: string): LaunchSpec;
}

/** The environment a sandbox command starts from: nothing of the server's own. */
function baseEnvironment(home: string, nodeBin: string): Record<string, string> {
  const path = STANDARD_PATH.includes(nodeBin) ? STANDARD_PATH : [nodeBin, ...STANDARD_PATH];
  return { PATH: path.join(":"), HOME: home, TERM: "dumb", LANG: "C.UTF-8" };
}

/** Commands straight on the host, in the project directory, with a cleared environment. No isolation. */
function plainLauncher(nodeBin: string): Launcher {
  return {
    launch(projectDir, cwd, env, command) {
      return { file: "bash", args: ["-lc", command], cwd: join(projectDir, cwd), env: { ...baseEnvironment(projectDir, nodeBin), ...env } };
    },
  };
}

/** Commands inside bubblewrap, the project directory mounted at {@link SANDBOX_PROJECT_DIR}. */
function bubblewrapLauncher(bwrap: string, system: string[], nodeBin: string): Launcher {
  return {
    launch(projectDir, cwd, env, command) {
      const options = bwrapOptions({
        system,
        projectDir,
        cwd: posix.join(SANDBOX_PROJECT_DIR, cwd),
        env: { ...baseEnvironment(SANDBOX_PROJECT_DIR, nodeBin), ...env },
      });
      return {
        file: bwrap,
        args: ["--args", "4", "--", "bash", "-lc", command],
        argsOnFd4: options,
        cwd: projectDir,
        env: { PATH: STANDARD_PATH.join(":") },
        reportsSandboxPid: true,
      };
    },
  };
}

/** The launcher chosen, and why commands are not isolated when they are not. */
export interface LauncherChoice {
  launcher: Launcher;
  warning?: string;
}

/**
 * Bubblewrap when it is wanted and works (`true`: required, an error otherwise; `undefined`: when `bwrap`
 * is on PATH and a trial sandbox runs in `scratchDir`), else plain host processes with a warning saying so.
 */
export async function chooseLauncher(useBubblewrap: boolean | undefined, scratchDir: string): Promise<LauncherChoice> {
  const prefix = await nodePrefix();
  const nodeBin = `${prefix}/bin`;
  const plain = (warning: string): LauncherChoice => ({ launcher: plainLauncher(nodeBin), warning });
  if (useBubblewrap === false) return plain("bubblewrap is turned off (useBubblewrap: false): sandbox commands run unisolated on the host");
  const bwrap = await findOnPath("bwrap");
  let failure = "bwrap is not on PATH";
  if (bwrap) {
    const isolated = bubblewrapLauncher(bwrap, await systemBinds(prefix), nodeBin);
    const trialFailure = await trialRun(isolated, scratchDir);
    if (trialFailure === undefined) return { launcher: isolated };
    failure = trialFailure;
  }
  if (useBubblewrap) throw new Error(`bubblewrap is required (useBubblewrap: true) but cannot be used: ${failure}`);
  return plain(
    `bubblewrap cannot be used (${failure}): sandbox commands run unisolated on the host as the server's user ` +
      "(own process group, cleared environment, project directory as cwd); install the Debian package `bubblewrap`",
  );
}

/** Why a trivial command fails under `launcher`, or undefined when it runs. */
async function trialRun(launcher: Launcher, scratchDir: string): Promise<string | undefined> {
  try {
    const result = await runCommand(launcher.launch(scratchDir, "", {}, "true"), { timeoutMs: 10_000, maxOutputBytes: 4096, graceMs: 1000 });
    return result.exitCode === 0 ? undefined : `a trial sandbox failed: ${result.output.trim() || `exit ${result.exitCode}`}`;
  } catch (err) {
    return `a trial sandbox failed: ${(err as Error).message}`;
  }
}
