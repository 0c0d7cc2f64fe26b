import { posix } from "node:path";
import { AppError } from "../../../lib/errors";
import { shellQuote } from "../../../lib/paths";
import { commandEnv, DAY_MS, daemonError, json, localPath, MAX_OUTPUT_BYTES, replyForError, type Reply, type ToolboxRequest } from "./daemon";
import { buildMultipart, parseMultipart, type MultipartPart } from "./multipart";
import { sessions } from "./sessions";
import type { FakeContext, FakeSandbox } from "./state";

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

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

/** Writes the files of a bulk upload: each on its own (not atomic) when the realism says so, else all or nothing. */
async function upload(ctx: FakeContext, sandbox: FakeSandbox, req: ToolboxRequest): Promise<Reply> {
  const files = uploadedFiles(parseMultipart(req.body, req.contentType));
  const batches = ctx.realism.partialUploads ? files.map((file) => [file]) : [files];
  const written: Array<{ path: string; bytes: number }> = [];
  const errors: string[] = [];
  for (const batch of batches) {
    try {
      await ctx.local.writeFiles(sandbox.localId, batch.map((file) => ({ path: localPath(sandbox, file.path), content: file.content })));
      written.push(...batch.map((file) => ({ path: file.path, bytes: file.content.length })));
    } catch (err) {
      errors.push(`${batch.length === 1 ? `${batch[0]!.path}: ` : ""}${(err as Error).message}`);
    }
  }
  return errors.length > 0 ? { status: 400, json: { errors, files: written } } : { status: 200, json: { files: written } };
}

/** One part of a bulk download: the file, or the daemon's JSON error for it. */
async function downloadPart(ctx: FakeContext, sandbox: FakeSandbox, path: string): Promise<MultipartPart> {
  const error = (status: number, code: string, message: string): MultipartPart => ({
    name: "error",
    filename: path,
    contentType: "application/json",
    data: Buffer.from(JSON.stringify({ message, statusCode: status, code, source: "DAYTONA_DAEMON" })),
  });
  try {
    const [read] = await ctx.local.readFiles(sandbox.localId, [localPath(sandbox, path)]);
    if (!read) return error(500, "INTERNAL", "no answer");
    if ("content" in read) return { name: "file", filename: path, data: read.content };
    if (read.error === "not_found") return error(404, "FILE_NOT_FOUND", `file not found: ${path}`);
    if (read.error === "is_directory") return error(400, "INVALID_FILE_PATH", `invalid file path: ${path} is a directory`);
    return error(400, "FILE_TOO_LARGE", `file too large: ${path}`);
  } catch (err) {
    const reply = replyForError(err).json as { statusCode: number; code: string; message: string };
    return error(reply.statusCode, reply.code, reply.message);
  }
}

async function execute(ctx: FakeContext, sandbox: FakeSandbox, req: ToolboxRequest): Promise<Reply> {
  const body = json(req.body);
  const envs = (body.envs ?? {}) as Record<string, string>;
  const badName = Object.keys(envs).find((name) => !ENV_NAME.test(name));
  if (badName !== undefined) return daemonError(400, "INVALID_ENV", `invalid environment variable name ${JSON.stringify(badName)}`);
  const timeout = typeof body.timeout === "number" && body.timeout > 0 ? body.timeout * 1000 : DAY_MS;
  let result;
  try {
    result = await ctx.local.exec(sandbox.localId, {
      command: String(body.command ?? ""),
      cwd: localPath(sandbox, typeof body.cwd === "string" && body.cwd !== "" ? body.cwd : sandbox.home),
      env: commandEnv(sandbox, envs),
      timeoutMs: Math.min(timeout, DAY_MS),
      maxOutputBytes: MAX_OUTPUT_BYTES,
    });
  } catch (err) {
    // The daemon cannot chdir into a cwd that is not there: the command never runs.
    if (err instanceof AppError && err.code === "invalid_argument" && err.details?.field === "cwd" && ctx.realism.missingCwdExitsMinusOne) {
      return { status: 200, json: { exitCode: -1, result: "" } };
    }
    throw err;
  }
  if (result.timedOut) return daemonError(408, "PROCESS_EXECUTION_TIMEOUT", `command timed out after ${body.timeout} seconds`);
  return { status: 200, json: { exitCode: result.exitCode ?? -1, result: result.output } };
}

/** The toolbox API of one started sandbox (`/toolbox/<id>/...`), served by the local provider. */
export async function toolbox(ctx: FakeContext, sandbox: FakeSandbox, req: ToolboxRequest): Promise<Reply> {
  const { local } = ctx;
  const id = sandbox.localId;
  const route = `${req.method} ${req.route}`;
  if (route === "GET user-home-dir") return { status: 200, json: { dir: sandbox.home } };
  if (route === "POST files/bulk-upload") return upload(ctx, sandbox, req);
  if (route === "POST files/bulk-download") {
    const paths = json(req.body).paths;
    if (!Array.isArray(paths) || paths.length === 0) return { status: 400, json: { error: 'request body must be {"paths": [ ... ]} and non-empty' } };
    const parts: MultipartPart[] = [];
    for (const path of paths) parts.push(await downloadPart(ctx, sandbox, String(path)));
    const { body, contentType } = buildMultipart(parts, { extendedFilenames: ctx.realism.extendedFilenames });
    return { status: 200, body, contentType };
  }
  if (route === "GET files") {
    const base = localPath(sandbox, req.query.get("path") ?? "");
    const entries = await local.listFiles(id, { path: base });
    return {
      status: 200,
      json: entries.map((entry) => ({
        name: posix.basename(entry.path),
        path: posix.join(sandbox.hostRoot, entry.path),
        isDir: entry.isDir,
        size: entry.size,
        mode: entry.isDir ? "drwxr-xr-x" : "-rw-r--r--",
        permissions: (entry.mode ?? 0).toString(8).padStart(4, "0"),
        owner: sandbox.image.user,
        group: sandbox.image.user,
        modTime: new Date().toISOString(),
      })),
    };
  }
  if (route === "POST files/folder") {
    const path = localPath(sandbox, req.query.get("path") ?? "");
    const mode = req.query.get("mode") ?? "755";
    if (!/^[0-7]{3,4}$/.test(mode)) return daemonError(400, "INVALID_MODE", `mode ${JSON.stringify(mode)} is not octal permission bits`);
    const made = await local.exec(id, { command: `mkdir -p -- ${shellQuote(path)} && chmod ${mode} -- ${shellQuote(path)}`, timeoutMs: 10_000, maxOutputBytes: 4096 });
    if (made.exitCode !== 0) return daemonError(400, "FOLDER_NOT_CREATED", made.output.trim());
    return { status: 201 };
  }
  if (route === "POST process/execute") return execute(ctx, sandbox, req);
  return sessions(ctx, sandbox, req);
}
