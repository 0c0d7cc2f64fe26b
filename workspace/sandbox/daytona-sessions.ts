/**
 * Daytona's session commands as the provider uses them: their logs cleaned of the daemon's stream
 * markers, the last output of an ended process kept once its session is deleted (a session per process
 * would otherwise leak a shell and its logs), and a command run to completion as an async session
 * command polled until it ends (one HTTP request held for a whole command is cut by proxies at 60 s or 5 min).
 */
import type { Sandbox } from "@daytonaio/sdk";
import type { Logger } from "../../lib/log";
import { messageOf } from "./daytona-errors";

/** The daemon's prefixes of stdout and stderr lines in a session command's `output` (SDK ≥ 0.167). */
const STREAM_MARKERS = /\x01\x01\x01|\x02\x02\x02/g;

/** A session command's logs as one text: `output` without the daemon's stream markers (or the streams, where there is no `output`). */
export function cleanLogs(logs: { output?: string; stdout?: string; stderr?: string }): string {
  if (typeof logs.output === "string" && logs.output !== "") return logs.output.replace(STREAM_MARKERS, "");
  return `${logs.stdout ?? ""}${logs.stderr ?? ""}`;
}

/** The last bytes of `text` (UTF-8), or all of it without `tailBytes`: markers are gone before the cut, so none is split. */
export function tailOf(text: string, tailBytes?: number): string {
  if (tailBytes === undefined) return text;
  const bytes = Buffer.from(text);
  return bytes.subarray(Math.max(0, bytes.length - tailBytes)).toString("utf8");
}

/** How a background process ended: its last output (capped) and exit code. */
export interface EndedProcess {
  output: string;
  exitCode: number | null;
}

/**
 * The last output of processes whose sessions were deleted, so their logs can still be read (by the
 * process that deleted them; a restart forgets them). Bounded: the oldest go first.
 */
export class EndedProcesses {
  private readonly ended = new Map<string, EndedProcess>();

  constructor(
    private readonly maxEntries = 1000,
    private readonly maxBytes = 256 * 1024,
  ) {}

  /** Remembers how `processId` ended (the last {@link maxBytes} of its output). */
  remember(processId: string, output: string, exitCode: number | null): void {
    this.ended.delete(processId);
    this.ended.set(processId, { output: tailOf(output, this.maxBytes), exitCode });
    for (const oldest of this.ended.keys()) {
      if (this.ended.size <= this.maxEntries) break;
      this.ended.delete(oldest);
    }
  }

  /** How `processId` ended, if this provider saw it end. */
  get(processId: string): EndedProcess | undefined {
    return this.ended.get(processId);
  }
}

/** Pauses between polls of an async session command: short at first, then at most a second. */
function* pauses(): Generator<number> {
  for (let pause = 100; ; pause = Math.min(1000, Math.round(pause * 1.5))) yield pause;
}

/** What {@link runInSession} needs to say about the command it runs. */
export interface SessionRun {
  sessionId: string;
  command: string;
  /** Past this, the session is deleted (its process group killed) and the run reported unfinished. */
  deadlineMs: number;
}

/**
 * Runs `command` as an async command of a new session, polls it until it ends (or the deadline), and
 * returns its cleaned logs; the session is deleted in every case. `finished: false` past the deadline.
 */
export async function runInSession(sandbox: Sandbox, run: SessionRun, log: Logger): Promise<{ output: string; stdout: string | undefined; finished: boolean }> {
  await sandbox.process.createSession(run.sessionId);
  try {
    const { cmdId } = await sandbox.process.executeSessionCommand(run.sessionId, { command: run.command, runAsync: true });
    if (!cmdId) throw new Error("Daytona started the session command without naming it (no cmdId)");
    let finished = false;
    for (const pause of pauses()) {
      if ((await sandbox.process.getSessionCommand(run.sessionId, cmdId)).exitCode != null) {
        finished = true;
        break;
      }
      if (Date.now() + pause > run.deadlineMs) break;
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
    const logs = await sandbox.process.getSessionCommandLogs(run.sessionId, cmdId);
    return { output: cleanLogs(logs), stdout: logs.stdout || undefined, finished };
  } finally {
    await sandbox.process.deleteSession(run.sessionId).catch((err: unknown) => log.warn("deleting a command's session failed", { sandboxId: sandbox.id, sessionId: run.sessionId, reason: messageOf(err) }));
  }
}
