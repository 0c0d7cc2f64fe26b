import { posix } from "node:path";
import { AppError } from "../../../lib/errors";
import { shellQuote } from "../../../lib/paths";
import { buildMultipart, parseMultipart, type MultipartPart } from "./multipart";
import { FAKE_HOME, type FakeContext, type FakeSandbox, type FakeSession, type FakeSessionCommand } from "./state";

/** An answer of the fake: JSON, raw bytes or nothing. */
export interface Reply {
  status: number;
  json?: unknown;
  body?: Buffer;
  contentType?: string;
}

/** A request as the toolbox routes see it. */
export interface ToolboxRequest {
  method: string;
  /** The path below `/toolbox/<id>/`, e.g. `files/bulk-upload`. */
  route: string;
  query: URLSearchParams;
  body: Buffer;
  contentType?: string;
}

const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;
const DAY_MS = 24 * 60 * 60 * 1000;

/** A daemon error answer (`{message, statusCode, code, source}`), as the SDK maps them. */
export function daemonError(status: number, code: string, message: string): Reply {
  return { status, json: { message, statusCode: status, code, source: "DAYTONA_DAEMON" } };
}

/** A local provider failure as the daemon would answer it. */
export function replyForError(err: unknown): Reply {
  if (err instanceof AppError) return daemonError(err.status, err.code.toUpperCase(), err.message);
  return daemonError(500, "INTERNAL", (err as Error).message ?? String(err));
}

/** A sandbox path (absolute below {@link FAKE_HOME}, or relative to it) as a path of the local sandbox. */
function localPath(path: string): string {
  if (!path.startsWith("/")) return path;
  if (path === FAKE_HOME) return "";
  if (!path.startsWith(`${FAKE_HOME}/`)) throw new AppError("permission_denied", `path ${JSON.stringify(path)} is outside ${FAKE_HOME}, which is all the fake sandbox has`);
  return path.slice(FAKE_HOME.length + 1);
}

function json(body: Buffer): Record<string, unknown> {
  try {
    return body.length === 0 ? {} : (JSON.parse(body.toString("utf8")) as Record<string, unknown>);
  } catch {
    throw new AppError("invalid_argument", "the request body is not JSON");
  }
}

/** Pairs the parts `files[i].path` and `files[i].file` of a bulk upload by their index. */
function uploadedFiles(parts: MultipartPart[]): Array<{ path: string; content: Buffer }> {
  const byIndex = new Map<number, { path?: string; content?: Buffer }>();
  for (const part of parts) {
    const match = /^files\[(\d+)\]\.(path|file)$/.exec(part.name);
    if (!match) throw new AppError("invalid_argument", `unexpected multipart field ${JSON.stringify(part.name)}`);
    const entry = byIndex.get(Number(match[1])) ?? {};
    if (match[2] === "path") entry.path = part.data.toString("utf8");
    else entry.content = part.data;
    byIndex.set(Number(match[1]), entry);
  }
  return [...byIndex.entries()]
    .sort(([a], [b]) => a - b)
    .map(([index, entry]) => {
      if (entry.path === undefined || entry.content === undefined) throw new AppError("invalid_argument", `files[${index}] lacks its path or its file`);
      return { path: entry.path, content: entry.content };
    });
}

/** The toolbox API of one started sandbox (`/toolbox/<id>/...`), served by the local provider. */
export async function toolbox(ctx: FakeContext, sandbox: FakeSandbox, req: ToolboxRequest): Promise<Reply> {
  const { local } = ctx;
  const id = sandbox.localId;
  const route = `${req.method} ${req.route}`;
  if (route === "POST files/bulk-upload") {
    const files = uploadedFiles(parseMultipart(req.body, req.contentType));
    try {
      await local.writeFiles(id, files.map((file) => ({ path: localPath(file.path), content: file.content })));
    } catch (err) {
      const failure = replyForError(err);
      return { status: failure.status, json: { ...(failure.json as object), errors: [(err as Error).message], files: [] } };
    }
    return { status: 200, json: { files: files.map((file) => ({ path: file.path, bytes: file.content.length })) } };
  }
  if (route === "POST files/bulk-download") {
    const paths = json(req.body).paths as string[];
    const parts: MultipartPart[] = [];
    for (const path of paths) {
      try {
        const [read] = await local.readFiles(id, [localPath(path)]);
        if ("content" in read) {
          parts.push({ name: "file", filename: path, data: read.content });
          continue;
        }
        const [status, code] = read.error === "not_found" ? [404, "FILE_NOT_FOUND"] : read.error === "is_directory" ? [400, "IS_DIRECTORY"] : [413, "FILE_TOO_LARGE"];
        const message = `${read.error === "is_directory" ? "path is a directory" : read.error === "not_found" ? "file not found" : "file too large"}: ${path}`;
        parts.push({ name: "error", filename: path, contentType: "application/json", data: Buffer.from(JSON.stringify({ message, statusCode: status, code, source: "DAYTONA_DAEMON" })) });
      } catch (err) {
        const error = replyForError(err).json;
        parts.push({ name: "error", filename: path, contentType: "application/json", data: Buffer.from(JSON.stringify(error)) });
      }
    }
    const { body, contentType } = buildMultipart(parts);
    return { status: 200, body, contentType };
  }
  if (route === "GET files") {
    const base = localPath(req.query.get("path") ?? "");
    const entries = await local.listFiles(id, { path: base });
    return {
      status: 200,
      json: entries.map((entry) => ({
        name: posix.basename(entry.path),
        path: posix.join(FAKE_HOME, entry.path),
        isDir: entry.isDir,
        size: entry.size,
        mode: entry.isDir ? "drwxr-xr-x" : "-rw-r--r--",
        permissions: (entry.mode ?? 0).toString(8).padStart(4, "0"),
        owner: "daytona",
        group: "daytona",
        modTime: new Date().toISOString(),
      })),
    };
  }
  if (route === "POST files/folder") {
    const path = localPath(req.query.get("path") ?? "");
    const mode = req.query.get("mode") ?? "755";
    if (!/^[0-7]{3,4}$/.test(mode)) return daemonError(400, "INVALID_MODE", `mode ${JSON.stringify(mode)} is not octal permission bits`);
    const made = await local.exec(id, { command: `mkdir -p -- ${shellQuote(path)} && chmod ${mode} -- ${shellQuote(path)}`, timeoutMs: 10_000, maxOutputBytes: 4096 });
    if (made.exitCode !== 0) return daemonError(400, "FOLDER_NOT_CREATED", made.output.trim());
    return { status: 201 };
  }
  if (route === "POST process/execute") {
    const body = json(req.body);
    const timeout = typeof body.timeout === "number" && body.timeout > 0 ? body.timeout * 1000 : DAY_MS;
    const result = await local.exec(id, {
      command: String(body.command ?? ""),
      cwd: typeof body.cwd === "string" ? localPath(body.cwd) : undefined,
      env: body.envs as Record<string, string> | undefined,
      timeoutMs: Math.min(timeout, DAY_MS),
      maxOutputBytes: MAX_OUTPUT_BYTES,
    });
    if (result.timedOut) return daemonError(408, "PROCESS_EXECUTION_TIMEOUT", `command timed out after ${body.timeout} seconds`);
    return { status: 200, json: { exitCode: result.exitCode ?? -1, result: result.output } };
  }
  return sessions(ctx, sandbox, req);
}

/** The session routes: `process/session...`. */
async function sessions(ctx: FakeContext, sandbox: FakeSandbox, req: ToolboxRequest): Promise<Reply> {
  const { local } = ctx;
  const id = sandbox.localId;
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
  const session = match ? sandbox.sessions.get(decodeURIComponent(match[1])) : undefined;
  if (!match) return daemonError(404, "NOT_FOUND", `no route ${req.method} ${req.route}`);
  if (!session) return daemonError(404, "SESSION_NOT_FOUND", `session ${decodeURIComponent(match[1])} not found`);
  const [, , action, cmdId, logs] = match;
  if (req.method === "DELETE" && action === undefined) {
    for (const command of session.commands.values()) {
      if (command.processId) await local.stopProcess(id, command.processId).catch(() => {});
    }
    sandbox.sessions.delete(session.id);
    return { status: 204 };
  }
  if (req.method === "GET" && action === undefined) return { status: 200, json: await sessionJson(ctx, sandbox, session) };
  if (req.method === "POST" && action === "exec") {
    const body = json(req.body);
    const command = String(body.command ?? "");
    const entry: FakeSessionCommand = { id: `cmd-${session.commands.size + 1}-${session.id}`.slice(0, 60), command };
    session.commands.set(entry.id, entry);
    if (body.runAsync === true || body.async === true) {
      const { processId } = await local.startProcess(id, { name: `c${Date.now().toString(36)}${session.commands.size}`, command });
      Object.assign(entry, { processId });
      return { status: 202, json: { cmdId: entry.id } };
    }
    const result = await local.exec(id, { command, timeoutMs: DAY_MS, maxOutputBytes: MAX_OUTPUT_BYTES });
    Object.assign(entry, { exitCode: result.exitCode ?? -1, output: result.output });
    return { status: 200, json: { cmdId: entry.id, exitCode: entry.exitCode, output: result.output, stdout: result.stdout, stderr: result.stderr } };
  }
  const command = cmdId === undefined ? undefined : session.commands.get(decodeURIComponent(cmdId));
  if (req.method !== "GET" || action === undefined) return daemonError(404, "NOT_FOUND", `no route ${req.method} ${req.route}`);
  if (!command) return daemonError(404, "COMMAND_NOT_FOUND", `command ${cmdId} not found`);
  const state = await commandState(ctx, sandbox, command);
  if (logs) return { status: 200, json: { output: state.output, stdout: state.output, stderr: "" } };
  return { status: 200, json: { id: command.id, command: command.command, ...(state.exitCode === undefined ? {} : { exitCode: state.exitCode }) } };
}

/** A session command's output and exit code (undefined while it runs; 137 when it was killed). */
async function commandState(ctx: FakeContext, sandbox: FakeSandbox, command: FakeSessionCommand) {
  if (!command.processId) return { output: command.output ?? "", exitCode: command.exitCode };
  const logs = await ctx.local.processLogs(sandbox.localId, command.processId);
  return { output: logs.output, exitCode: logs.running ? undefined : (logs.exitCode ?? 137) };
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
