import { execFileSync } from "node:child_process";
import { shellQuote } from "../../../lib/paths";
import type { FakeContext, FakeSandbox, FakeSession, FakeSessionCommand } from "./state";
import { commandEnv, DAY_MS, daemonError, json, localPath, MAX_OUTPUT_BYTES, type Reply, type ToolboxRequest } from "./daemon";

/** The markers the daemon puts before every line of a session command's `output`. */
export const STDOUT_MARKER = "\x01\x01\x01";
export const STDERR_MARKER = "\x02\x02\x02";
/** The exit code a session command shows after deleteSession's SIGTERM. */
const TERMINATED = 143;

const SED = execFileSync("bash", ["-c", "command -v sed"], { encoding: "utf8" }).trim();

/**
 * A command whose stdout lines and stderr lines come out on stdout, each marked as the daemon marks them
 * (line by line, as they come), with the command's own exit status.
 */
function markedCommand(command: string): string {
  const mark = (marker: string) => `${shellQuote(SED)} -u ${shellQuote(`s/^/${marker}/`)}`;
  return `set -o pipefail; { { bash -c ${shellQuote(command)} 2>&3 | ${mark(STDOUT_MARKER)} >&4; } 3>&1 | ${mark(STDERR_MARKER)} >&4; } 4>&1`;
}

/** The log fields of a session command: `output` as the daemon keeps it, `stdout` and `stderr` clean. */
function logFields(output: string, marked: boolean): { output: string; stdout: string; stderr: string } {
  if (!marked) return { output, stdout: output, stderr: "" };
  const lines = output.split(/(?<=\n)/);
  const clean = (marker: string) => lines.filter((line) => line.startsWith(marker)).map((line) => line.slice(marker.length)).join("");
  return { output, stdout: clean(STDOUT_MARKER), stderr: clean(STDERR_MARKER) };
}

/** A session command's output and exit code (undefined while it runs). */
async function commandState(ctx: FakeContext, sandbox: FakeSandbox, command: FakeSessionCommand): Promise<{ output: string; exitCode: number | undefined }> {
  if (!command.processId) return { output: command.output ?? "", exitCode: command.exitCode };
  const logs = await ctx.local.processLogs(sandbox.localId, command.processId);
  return { output: logs.output, exitCode: logs.running ? undefined : (logs.exitCode ?? TERMINATED) };
}

async function sessionJson(ctx: FakeContext, sandbox: FakeSandbox, session: FakeSession) {
  const commands = await Promise.all(
    [...session.commands.values()].map(async (command) => {
      const { exitCode } = await commandState(ctx, sandbox, command);
      return { id: command.id, command: command.command, ...(exitCode === undefined ? {} : { exitCode }) };
    }),
  );
  return { sessionId: session.id, commands };
}

async function exec(ctx: FakeContext, sandbox: FakeSandbox, session: FakeSession, req: ToolboxRequest): Promise<Reply> {
  const body = json(req.body);
  const command = String(body.command ?? "");
  const entry: FakeSessionCommand = { id: `cmd-${session.commands.size + 1}-${session.id}`.slice(0, 60), command };
  session.commands.set(entry.id, entry);
  const marked = ctx.realism.logMarkers;
  const run = { command: marked ? markedCommand(command) : command, cwd: localPath(sandbox, sandbox.home), env: commandEnv(sandbox) };
  if (body.runAsync === true || body.async === true) {
    const { processId } = await ctx.local.startProcess(sandbox.localId, { name: `c${Date.now().toString(36)}${session.commands.size}`, ...run });
    entry.processId = processId;
    return { status: 202, json: { cmdId: entry.id } };
  }
  const result = await ctx.local.exec(sandbox.localId, { ...run, timeoutMs: DAY_MS, maxOutputBytes: MAX_OUTPUT_BYTES });
  Object.assign(entry, { exitCode: result.exitCode ?? -1, output: result.stdout });
  return { status: 200, json: { cmdId: entry.id, exitCode: entry.exitCode, ...logFields(result.stdout, marked) } };
}

/** The session routes: `process/session...`. */
export async function sessions(ctx: FakeContext, sandbox: FakeSandbox, req: ToolboxRequest): Promise<Reply> {
  if (req.method === "POST" && req.route === "process/session") {
    const sessionId = String(json(req.body).sessionId ?? "");
    if (!sessionId) return daemonError(400, "INVALID_SESSION_ID", "sessionId is required");
    if (sandbox.sessions.has(sessionId)) return daemonError(409, "SESSION_EXISTS", `session ${sessionId} already exists`);
    sandbox.sessions.set(sessionId, { id: sessionId, commands: new Map() });
    return { status: 201 };
  }
  if (req.method === "GET" && req.route === "process/session") {
    return { status: 200, json: await Promise.all([...sandbox.sessions.values()].map((session) => sessionJson(ctx, sandbox, session))) };
  }
  const match = /^process\/session\/([^/]+)(?:\/(exec|command\/([^/]+)(\/logs)?))?$/.exec(req.route);
  if (!match) return daemonError(404, "NOT_FOUND", `no route ${req.method} ${req.route}`);
  const session = sandbox.sessions.get(decodeURIComponent(match[1]!));
  if (!session) return daemonError(404, "SESSION_NOT_FOUND", `session ${decodeURIComponent(match[1]!)} not found`);
  const [, , action, cmdId, logs] = match;
  if (req.method === "DELETE" && action === undefined) {
    // SIGTERM, then SIGKILL, to each command's process group (what left its group survives, as on Daytona).
    for (const command of session.commands.values()) {
      if (command.processId) await ctx.local.stopProcess(sandbox.localId, command.processId).catch(() => {});
    }
    sandbox.sessions.delete(session.id);
    return { status: 204 };
  }
  if (req.method === "GET" && action === undefined) return { status: 200, json: await sessionJson(ctx, sandbox, session) };
  if (req.method === "POST" && action === "exec") return exec(ctx, sandbox, session, req);
  const command = cmdId === undefined ? undefined : session.commands.get(decodeURIComponent(cmdId));
  if (req.method !== "GET" || action === undefined) return daemonError(404, "NOT_FOUND", `no route ${req.method} ${req.route}`);
  if (!command) return daemonError(404, "COMMAND_NOT_FOUND", `command ${cmdId} not found`);
  const state = await commandState(ctx, sandbox, command);
  if (logs) return { status: 200, json: logFields(state.output, ctx.realism.logMarkers) };
  return { status: 200, json: { id: command.id, command: command.command, ...(state.exitCode === undefined ? {} : { exitCode: state.exitCode }) } };
}
