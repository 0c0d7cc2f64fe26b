/**
 * Commands run to completion in a Daytona sandbox, through the exec script of daytona-scripts.ts (its
 * own timeout, process-group kill, capped output). A command allowed a short time goes in one
 * `executeCommand` request; one allowed longer runs as an async session command polled to its end (one
 * request held for minutes is cut by proxies). Either way a cancel kills it, and it keeps the sandbox awake.
 */
import { randomBytes } from "node:crypto";
import type { Sandbox } from "@daytonaio/sdk";
import { AppError, invalidArgument } from "../../lib/errors";
import type { Logger } from "../../lib/log";
import { describePath, safeRelativePath } from "../../lib/paths";
import { checkExecRequest } from "./command-checks";
import type { SandboxAccess } from "./daytona-access";
import { messageOf, statusOf } from "./daytona-errors";
import { bashCommand, cancelExecScript, execScript, parseExecOutput, sessionExecCommand, type SandboxLayout } from "./daytona-scripts";
import { runInSession } from "./daytona-sessions";
import type { ExecRequest, ExecResult } from "./provider";

/** Seconds Daytona's own execute timeout allows beyond ours, so ours (which keeps the output) fires first. */
const EXECUTE_BACKSTOP_SECONDS = 15;

function emptyResult(over: Partial<ExecResult>): ExecResult {
  return { exitCode: null, output: "", stdout: "", stderr: "", timedOut: false, cancelled: false, droppedBytes: 0, durationMs: 0, ...over };
}

/** How commands run: the kill grace period, and from which allowed duration on they go as session commands. */
export interface CommandOptions {
  graceMs: number;
  asyncExecAfterMs: number;
  log: Logger;
}

/** Runs a command to completion in the sandbox `id` (see the module comment). */
export async function runCommand(access: SandboxAccess, id: string, req: ExecRequest, options: CommandOptions): Promise<ExecResult> {
  checkExecRequest(req);
  const cwd = safeRelativePath("cwd", req.cwd ?? "", { allowRoot: true });
  const sandbox = await access.running(id);
  if (req.signal?.aborted) return emptyResult({ cancelled: true });
  const execId = randomBytes(8).toString("hex");
  const script = execScript({ execId, command: req.command, cwd, timeoutMs: req.timeoutMs, graceMs: options.graceMs, maxOutputBytes: req.maxOutputBytes });
  const onAbort = () => {
    void access
      .layout(sandbox)
      .then((layout) => sandbox.process.executeCommand(bashCommand(cancelExecScript(execId, options.graceMs)), layout.project, undefined, 60))
      .catch((err: unknown) => options.log.warn("cancelling a daytona command failed", { sandboxId: id, reason: messageOf(err) }));
  };
  req.signal?.addEventListener("abort", onAbort, { once: true });
  const release = access.keeper?.lease(id);
  const started = performance.now();
  let result: string;
  try {
    const longRunning = req.timeoutMs >= options.asyncExecAfterMs;
    result = await access.toolbox(id, "running a command", (current, layout) =>
      longRunning ? inSession(current, layout, execId, script, req, options) : inRequest(current, layout, script, req, options),
    );
  } finally {
    release?.();
    req.signal?.removeEventListener("abort", onAbort);
  }
  const durationMs = Math.round(performance.now() - started);
  const outcome = parseExecOutput(result, execId, req.maxOutputBytes);
  if (outcome === undefined) {
    if (result === "") return emptyResult({ timedOut: true, durationMs, output: "[kiln: Daytona ended the command at its own timeout; its output is lost]\n" });
    throw new AppError("internal", `Daytona: the command wrapper failed: ${result.trim().slice(0, 500)}`);
  }
  if (outcome.kind === "nocwd") throw invalidArgument("cwd", `path ${describePath(req.cwd ?? "")} is not a directory of the project`);
  const killed = outcome.timedOut || outcome.cancelled;
  return {
    exitCode: killed ? null : outcome.status,
    output: outcome.output.toString(),
    stdout: outcome.stdout.toString(),
    stderr: outcome.stderr.toString(),
    timedOut: outcome.timedOut && !outcome.cancelled,
    cancelled: outcome.cancelled,
    droppedBytes: outcome.output.droppedBytes,
    durationMs: outcome.durationMs,
  };
}

/** A short command in one request; Daytona's own timeout (408) loses the output: an empty result. */
async function inRequest(sandbox: Sandbox, layout: SandboxLayout, script: string, req: ExecRequest, options: CommandOptions): Promise<string> {
  const backstop = Math.ceil((req.timeoutMs + options.graceMs) / 1000) + EXECUTE_BACKSTOP_SECONDS;
  try {
    const response = await sandbox.process.executeCommand(bashCommand(script), layout.project, req.env, backstop);
    // A cwd the daemon cannot enter never runs the command: exitCode -1 and nothing printed.
    if (response.exitCode === -1 && response.result === "") throw new AppError("internal", `Daytona could not run a command (exit code -1): the project directory ${layout.project} is missing`);
    return response.result;
  } catch (err) {
    if (statusOf(err) === 408) return "";
    throw err;
  }
}

/** A long command as an async session command, polled to its end; the cancel path kills it as it kills any exec. */
async function inSession(sandbox: Sandbox, layout: SandboxLayout, execId: string, script: string, req: ExecRequest, options: CommandOptions): Promise<string> {
  const deadlineMs = Date.now() + req.timeoutMs + options.graceMs + EXECUTE_BACKSTOP_SECONDS * 1000;
  const run = await runInSession(sandbox, { sessionId: `kilnx-${execId}`, command: sessionExecCommand(layout, req.env ?? {}, script), deadlineMs }, options.log);
  return run.finished ? (run.stdout ?? run.output) : "";
}
