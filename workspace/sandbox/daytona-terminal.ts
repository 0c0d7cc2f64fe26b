import { randomBytes } from "node:crypto";
import { AppError } from "../../lib/errors";
import type { SandboxAccess } from "./daytona-access";
import type { SandboxTerminal, TerminalRequest } from "./provider";
import { checkTerminalSize } from "./terminal-command";

/** The first daemon with the PTY `create-connect` socket the SDK's createPty uses (v0.190.0, the last public one, lacks it). */
export const PTY_DAEMON_VERSION: [number, number, number] = [0, 191, 0];

/** Whether a daemon version (`v0.218.0`, `0.218.0-rc1`) is at least {@link PTY_DAEMON_VERSION}; unknown is not. */
export function daemonHasPty(version: string | undefined): boolean {
  const match = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version ?? "");
  if (!match) return false;
  const parts = match.slice(1, 4).map(Number);
  for (let i = 0; i < 3; i++) if (parts[i] !== PTY_DAEMON_VERSION[i]) return parts[i]! > PTY_DAEMON_VERSION[i]!;
  return true;
}

/**
 * A terminal on Daytona: one of the SDK's PTY sessions (a WebSocket from Kiln to the sandbox's toolbox,
 * never from the browser, so Daytona's token stays here), a bash in the project directory.
 */
export async function openDaytonaTerminal(access: SandboxAccess, id: string, req: TerminalRequest): Promise<SandboxTerminal> {
  const { rows, cols } = checkTerminalSize(req.rows, req.cols);
  const ptyId = `kiln-trm-${randomBytes(8).toString("hex")}`;
  const handle = await access.toolbox(id, "opening a terminal", async (sandbox, layout) => {
    if (!daemonHasPty(sandbox.daemonVersion)) {
      throw new AppError("failed_precondition", `sandbox ${id}'s Daytona daemon (${sandbox.daemonVersion ?? "version unknown"}) has no PTY sessions; terminals need ${PTY_DAEMON_VERSION.join(".")} or later`);
    }
    return sandbox.process.createPty({ id: ptyId, cwd: layout.project, cols, rows, envs: { TERM: "xterm-256color" }, onData: (data) => req.onOutput(Buffer.from(data)) });
  });
  void handle.wait().then(
    (result) => req.onExit(result.exitCode ?? null),
    () => req.onExit(null),
  );
  return {
    write: (data) => handle.sendInput(data),
    resize: async (newRows, newCols) => {
      const size = checkTerminalSize(newRows, newCols);
      await handle.resize(size.cols, size.rows);
    },
    close: async () => {
      await handle.kill().catch(() => undefined);
      await handle.disconnect();
    },
  };
}
