/**
 * Background processes (dev servers) in Daytona sandboxes: each in a session of its own, running in its
 * own process group with its pid file below the sandbox's home (Daytona has no kill API for session
 * commands). A process's session is deleted once it is seen to end, is stopped or replaced (a session
 * keeps a shell and all its logs otherwise); its last output stays answerable from memory.
 */
import { randomBytes } from "node:crypto";
import type { Sandbox } from "@daytonaio/sdk";
import { AppError, invalidArgument, notFound } from "../../lib/errors";
import type { Logger } from "../../lib/log";
import { describePath, safeRelativePath } from "../../lib/paths";
import { checkProcessRequest } from "./command-checks";
import type { SandboxAccess } from "./daytona-access";
import { messageOf, statusOf } from "./daytona-errors";
import { bashCommand, EXIT, prepareProcessScript, processCommand, stopProcessScript, type SandboxLayout } from "./daytona-scripts";
import { cleanLogs, EndedProcesses, tailOf } from "./daytona-sessions";
import type { ProcessLogs, ProcessRequest } from "./provider";

/** Background processes' sessions; async commands' sessions are `kilnx-<execId>`. */
const PROCESS_ID = /^kiln-[A-Za-z0-9._-]{1,100}$/;
const OUR_SESSION = /^kilnx?-/;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The processes of one provider. */
export class DaytonaProcesses {
  /** The session command of each background process this provider started. */
  private readonly commandIds = new Map<string, string>();
  private readonly ended = new EndedProcesses();

  constructor(
    private readonly access: SandboxAccess,
    private readonly options: { graceMs: number; log: Logger },
  ) {}

  /** Starts a long-running process in its own session (see the module comment). */
  async startProcess(id: string, req: ProcessRequest): Promise<{ processId: string }> {
    checkProcessRequest(req);
    const cwd = safeRelativePath("cwd", req.cwd ?? "", { allowRoot: true });
    const processId = `kiln-${req.name}-${randomBytes(6).toString("hex")}`;
    const layout = await this.access.layout(await this.access.running(id));
    const prepared = await this.access.script(id, "preparing a background process", prepareProcessScript(layout, cwd));
    if (prepared.exitCode === EXIT.badCwd) throw invalidArgument("cwd", `path ${describePath(req.cwd ?? "")} is not a directory of the project`);
    if (prepared.exitCode !== 0) throw new AppError("internal", `Daytona: preparing the process failed: ${prepared.output.trim().slice(0, 500)}`);
    const clash = await this.sweepSessions(id, req.name);
    if (clash) throw new AppError("already_exists", `a process named ${JSON.stringify(req.name)} is already running`, { processId: clash });
    const command = processCommand(layout, processId, cwd, req.env ?? {}, req.command);
    const { cmdId } = await this.access.toolbox(id, "starting a background process", async (sandbox) => {
      await sandbox.process.createSession(processId);
      return sandbox.process.executeSessionCommand(processId, { command, runAsync: true });
    });
    if (cmdId) this.commandIds.set(processId, cmdId);
    this.options.log.info("daytona process started", { sandboxId: id, processId, name: req.name });
    return { processId };
  }

  /**
   * Deletes the sessions of Kiln's that have ended (a replaced dev server, a command whose provider
   * died); answers the id of a running process named `name`, if there is one.
   */
  private async sweepSessions(id: string, name: string): Promise<string | undefined> {
    return this.access.toolbox(id, "listing background processes", async (sandbox) => {
      const named = new RegExp(`^kiln-${name.replace(/[.]/g, "\\.")}-[0-9a-f]{12}$`);
      let running: string | undefined;
      for (const session of await sandbox.process.listSessions()) {
        if (!OUR_SESSION.test(session.sessionId)) continue;
        const live = session.commands?.some((command) => command.exitCode == null) ?? false;
        if (live) {
          if (named.test(session.sessionId)) running = session.sessionId;
          continue;
        }
        await sandbox.process.deleteSession(session.sessionId).catch((err: unknown) => this.options.log.warn("deleting an ended session failed", { sandboxId: id, sessionId: session.sessionId, reason: messageOf(err) }));
      }
      return running;
    });
  }

  /** The session command of a background process; `not_found` for a process this sandbox does not have. */
  private async commandOf(sandbox: Sandbox, processId: string): Promise<string> {
    const known = this.commandIds.get(processId);
    if (known) return known;
    const session = await sandbox.process.getSession(processId);
    const first = session.commands?.[0]?.id;
    if (!first) throw notFound("process", processId);
    this.commandIds.set(processId, first);
    return first;
  }

  /** A session call, its 404 as the process's `not_found`. */
  private async onProcess<T>(id: string, processId: string, what: string, call: (sandbox: Sandbox, cmdId: string, layout: SandboxLayout) => Promise<T>): Promise<T> {
    if (typeof processId !== "string" || !PROCESS_ID.test(processId)) {
      await this.access.running(id);
      throw notFound("process", String(processId));
    }
    return this.access.toolbox(id, what, async (sandbox, layout) => {
      try {
        return await call(sandbox, await this.commandOf(sandbox, processId), layout);
      } catch (err) {
        if (statusOf(err) === 404) throw notFound("process", processId);
        throw err;
      }
    });
  }

  /** Remembers how a process ended and deletes its session (its shell and logs would stay otherwise). */
  private async retire(sandbox: Sandbox, processId: string, output: string, exitCode: number | null): Promise<void> {
    this.ended.remember(processId, output, exitCode);
    this.commandIds.delete(processId);
    await sandbox.process.deleteSession(processId).catch((err: unknown) => this.options.log.warn("deleting an ended session failed", { sandboxId: sandbox.id, sessionId: processId, reason: messageOf(err) }));
  }

  /** The output of a process so far, its markers gone; an ended process is retired and answered from memory. */
  async processLogs(id: string, processId: string, opts?: { tailBytes?: number }): Promise<ProcessLogs> {
    const tailBytes = opts?.tailBytes;
    if (tailBytes !== undefined && (!Number.isInteger(tailBytes) || tailBytes < 1)) throw invalidArgument("tailBytes", "must be a positive whole number");
    const ended = this.ended.get(processId);
    if (ended) {
      await this.access.running(id);
      return { output: tailOf(ended.output, tailBytes), running: false, exitCode: ended.exitCode };
    }
    return this.onProcess(id, processId, "reading process logs", async (sandbox, cmdId) => {
      const command = await sandbox.process.getSessionCommand(processId, cmdId);
      const output = cleanLogs(await sandbox.process.getSessionCommandLogs(processId, cmdId));
      const exitCode = command.exitCode ?? null;
      if (exitCode !== null) await this.retire(sandbox, processId, output, exitCode);
      return { output: tailOf(output, tailBytes), running: exitCode === null, exitCode };
    });
  }

  /** Kills a process's whole group (its own session is no group of Daytona's), then retires it. */
  async stopProcess(id: string, processId: string): Promise<void> {
    if (this.ended.get(processId)) {
      await this.access.running(id);
      return;
    }
    await this.onProcess(id, processId, "stopping a process", async (sandbox, cmdId, layout) => {
      await sandbox.process.executeCommand(bashCommand(stopProcessScript(layout, processId, this.options.graceMs)), layout.project, undefined, 60);
      // The session notices the end of its command a moment later: wait for it (bounded), so logs say so.
      const deadline = Date.now() + this.options.graceMs + 5000;
      let exitCode: number | null = null;
      while (exitCode === null && Date.now() < deadline) {
        exitCode = (await sandbox.process.getSessionCommand(processId, cmdId)).exitCode ?? null;
        if (exitCode === null) await sleep(50);
      }
      if (exitCode === null) this.options.log.warn("a stopped daytona process still shows as running", { sandboxId: id, processId });
      const output = cleanLogs(await sandbox.process.getSessionCommandLogs(processId, cmdId));
      await this.retire(sandbox, processId, output, exitCode);
    });
  }
}
