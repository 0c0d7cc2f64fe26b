import { AppError, invalidArgument, notFound } from "../../lib/errors";
import { newId } from "../../lib/ids";
import { OutputCap } from "./output-cap";
import type { ExecResult, ProcessLogs } from "./provider";
import { runCommand, type CommandStarter, type RunLimits } from "./run-command";
import type { GroupProcess } from "./toolbox-client";

/** A long-running process's log keeps its start (where boot errors are) and its latest output. */
const LOG_HEAD_BYTES = 64 * 1024;
const LOG_TAIL_BYTES = 1024 * 1024;
/** Finished processes whose logs stay readable, per sandbox. */
const FINISHED_KEPT = 20;

interface BackgroundProcess {
  id: string;
  sandboxId: string;
  name: string;
  group: GroupProcess;
  log: OutputCap;
  exitCode: number | null;
}

/**
 * Every process the local provider started, by sandbox: commands running to completion and long-running
 * background processes (with their logs), so a sandbox's processes can be killed when it stops or goes,
 * and all of them when the provider closes.
 */
export class ProcessTable {
  private readonly runs = new Map<string, Set<GroupProcess>>();
  private readonly background = new Map<string, BackgroundProcess>();
  /** Background processes whose start is under way (a second one of the same name is refused meanwhile). */
  private readonly starting = new Set<{ id: string; sandboxId: string; name: string }>();


  private runsOf(sandboxId: string): Set<GroupProcess> {
    let set = this.runs.get(sandboxId);
    if (!set) this.runs.set(sandboxId, (set = new Set()));
    return set;
  }

  private backgroundOf(sandboxId: string): BackgroundProcess[] {
    return [...this.background.values()].filter((process) => process.sandboxId === sandboxId);
  }

  /** Runs a command to completion (see {@link runCommand}), killable through the sandbox while it runs. */
  async run(sandboxId: string, start: CommandStarter, limits: RunLimits): Promise<ExecResult> {
    let started: GroupProcess | undefined;
    try {
      return await runCommand(start, limits, (group) => {
        started = group;
        this.runsOf(sandboxId).add(group);
      });
    } finally {
      const set = this.runs.get(sandboxId);
      if (started) set?.delete(started);
      if (set?.size === 0) this.runs.delete(sandboxId);
    }
  }

  /** Starts a long-running process; its output goes to a capped log. A running process of the same name is `already_exists`. */
  async start(sandboxId: string, name: string, start: CommandStarter): Promise<string> {
    const running = (process: BackgroundProcess) => process.name === name && process.group.running;
    const clash = this.backgroundOf(sandboxId).find(running) ?? [...this.starting].find((entry) => entry.sandboxId === sandboxId && entry.name === name);
    if (clash) throw new AppError("already_exists", `a process named ${JSON.stringify(name)} is already running`, { processId: clash.id });
    const log = new OutputCap(LOG_HEAD_BYTES, LOG_TAIL_BYTES);
    const pending = { id: newId("proc"), sandboxId, name };
    this.starting.add(pending);
    let group: GroupProcess;
    try {
      group = await start((_stream, chunk) => log.push(chunk));
    } finally {
      this.starting.delete(pending);
    }
    const entry: BackgroundProcess = { ...pending, log, exitCode: null, group };
    void entry.group.finished.then((exit) => {
      entry.exitCode = exit.exitCode;
      if (exit.spawnError) log.push(Buffer.from(`[kiln: the process could not start: ${exit.spawnError.message}]\n`));
    });
    this.background.set(entry.id, entry);
    this.forgetOldest(sandboxId);
    return entry.id;
  }

  private forgetOldest(sandboxId: string): void {
    const finished = this.backgroundOf(sandboxId).filter((process) => !process.group.running);
    for (const process of finished.slice(0, Math.max(0, finished.length - FINISHED_KEPT))) this.background.delete(process.id);
  }

  private find(sandboxId: string, processId: string): BackgroundProcess {
    const entry = this.background.get(processId);
    if (!entry || entry.sandboxId !== sandboxId) throw notFound("process", processId);
    return entry;
  }

  /** A background process's log (its last `tailBytes` when given) and state. */
  logs(sandboxId: string, processId: string, tailBytes?: number): ProcessLogs {
    if (tailBytes !== undefined && (!Number.isInteger(tailBytes) || tailBytes < 1)) throw invalidArgument("tailBytes", "must be a positive whole number");
    const entry = this.find(sandboxId, processId);
    const log = entry.log.toBuffer();
    const output = (tailBytes === undefined ? log : log.subarray(Math.max(0, log.length - tailBytes))).toString("utf8");
    return { output, running: entry.group.running, exitCode: entry.exitCode };
  }

  /** Kills a background process and everything it started. */
  async stop(sandboxId: string, processId: string): Promise<void> {
    await this.find(sandboxId, processId).group.terminate();
  }

  /** Kills every process of a sandbox; `forget` also drops its background processes' logs (the sandbox is gone). */
  async stopSandbox(sandboxId: string, forget: boolean): Promise<void> {
    const background = this.backgroundOf(sandboxId);
    await Promise.all([...(this.runs.get(sandboxId) ?? []), ...background.map((process) => process.group)].map((group) => group.terminate()));
    if (!forget) return;
    this.runs.delete(sandboxId);
    for (const process of background) this.background.delete(process.id);
  }

  /** Kills every process of every sandbox. */
  async stopAll(): Promise<void> {
    const sandboxIds = new Set([...this.runs.keys(), ...[...this.background.values()].map((process) => process.sandboxId)]);
    await Promise.all([...sandboxIds].map((sandboxId) => this.stopSandbox(sandboxId, false)));
  }
}
