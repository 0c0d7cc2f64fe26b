// The sandbox toolbox: the one process that touches a local sandbox's files and starts its commands,
// running inside the sandbox's boundary (bubblewrap namespaces) like Daytona's toolbox daemon runs inside
// its sandboxes. The server talks to it over stdin/stdout in frames (frames.mjs); the server never
// resolves a sandbox path on the host. Paths arrive already checked by the server (lib/paths.ts); the
// kernel's view is the boundary, so a symlink or a swap race can at most reach the sandbox's own view.
//
// Run as: node toolbox.mjs '<config JSON>' (see workspace/sandbox/toolbox-client.ts for the config).
// Plain JavaScript without dependencies: it runs on the sandbox's Node.js without a build step.

import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { chmod, lstat, mkdir, open, readdir, realpath, rename, rm, stat, writeFile } from "node:fs/promises";
import { setPriority } from "node:os";
import { basename, dirname, join, relative, sep } from "node:path";
import { encodeFrame, FrameReader } from "./frames.mjs";

const config = JSON.parse(process.argv[2] ?? "{}");
// Below the server's priority before anything runs: every command started from here inherits it.
if (Number.isInteger(config.limits?.niceness)) setPriority(config.limits.niceness);
const ROOT = config.root;
const IGNORED = new Set(config.ignoredDirectories ?? []);
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
const IO_CONCURRENCY = 16;

/** A failure the server maps to its own error: an errno code or a path that leaves the project. */
class OpError extends Error {
  constructor(code, index) {
    super(code);
    this.code = code;
    this.index = index;
  }
}

// ---------------------------------------------------------------------------------------------- output

let outputBlocked = false;
const drainWaiters = [];
process.stdout.on("drain", () => {
  outputBlocked = false;
  for (const resume of drainWaiters.splice(0)) resume();
});
process.stdout.on("error", () => process.exit(0));

function send(header, body) {
  if (!process.stdout.write(encodeFrame(header, body))) outputBlocked = true;
}

// ----------------------------------------------------------------------------------------------- paths

function within(path) {
  return path === ROOT || path.startsWith(ROOT.endsWith(sep) ? ROOT : ROOT + sep);
}

/** Refuses what the server's path gate already refuses: the toolbox trusts no caller blindly. */
function lexical(path, index) {
  if (typeof path !== "string" || path.startsWith("/") || path.includes("\0") || path.split("/").includes("..")) throw new OpError("EINVALPATH", index);
  return path === "" ? ROOT : join(ROOT, path);
}

/** The real path of `full` with its missing tail kept as written; it must stay inside the project. */
async function realInside(full, index) {
  let head = full;
  const tail = [];
  for (;;) {
    try {
      const resolved = join(await realpath(head), ...tail);
      if (!within(resolved)) throw new OpError("EESCAPE", index);
      return resolved;
    } catch (err) {
      if (err instanceof OpError) throw err;
      if ((err.code !== "ENOENT" && err.code !== "ENOTDIR") || head === ROOT) throw err;
      tail.unshift(basename(head));
      head = dirname(head);
    }
  }
}

/** Where `path` leads: its target for reads, the entry itself (a symlink not followed) for writes, deletes and renames. */
async function locate(path, index, followLast) {
  const full = lexical(path, index);
  if (followLast || full === ROOT) return realInside(full, index);
  return join(await realInside(dirname(full), index), basename(full));
}

async function onIndex(index, fn) {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof OpError) throw err;
    throw new OpError(err.code ?? "EIO", index);
  }
}

async function mapConcurrent(items, fn) {
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(IO_CONCURRENCY, items.length) }, worker));
  return results;
}

// ----------------------------------------------------------------------------------------------- files

async function writeFiles({ files }, body) {
  let offset = 0;
  const slices = files.map((file) => {
    const content = body.subarray(offset, offset + file.size);
    offset += file.size;
    return content;
  });
  await mapConcurrent(files, (file, index) =>
    onIndex(index, async () => {
      const target = await locate(file.path, index, false);
      await mkdir(dirname(target), { recursive: true });
      const temporary = join(dirname(target), `.kiln-write-${randomBytes(6).toString("hex")}`);
      try {
        await writeFile(temporary, slices[index], { mode: file.mode, flag: "wx" });
        await chmod(temporary, file.mode);
        await rename(temporary, target);
      } catch (err) {
        await rm(temporary, { force: true });
        throw err;
      }
    }),
  );
  return [{}];
}

/** One file of a batch: its bytes are taken from `budget` (what the batch may still return) before they are read. */
async function readOne(path, index, maxBytes, budget) {
  const target = await locate(path, index, true).catch((err) => {
    if (err.code === "ENOENT" || err.code === "ENOTDIR") return undefined;
    throw err;
  });
  if (target === undefined) return { error: "not_found" };
  // ELOOP: the last segment is a symlink that resolved to nothing (or became one meanwhile).
  const handle = await onIndex(index, () => open(target, OPEN_FLAGS)).catch((err) => {
    if (err.code === "ENOENT" || err.code === "ENOTDIR" || err.code === "ELOOP") return undefined;
    throw err;
  });
  if (!handle) return { error: "not_found" };
  try {
    const stats = await handle.stat();
    if (stats.isDirectory()) return { error: "is_directory" };
    if (!stats.isFile()) return { error: "not_found" };
    if (stats.size > maxBytes || stats.size > budget.left) return { error: "too_large" };
    budget.left -= stats.size;
    const content = Buffer.alloc(stats.size);
    const { bytesRead } = stats.size > 0 ? await handle.read(content, 0, stats.size, 0) : { bytesRead: 0 };
    return { content: content.subarray(0, bytesRead) };
  } finally {
    await handle.close();
  }
}

/** Most bytes one batch read returns in all: files past it are reported too large, so a batch cannot exhaust the toolbox's memory. */
const MAX_BATCH_READ_BYTES = 256 * 1024 * 1024;

async function readFiles({ paths, maxBytes }) {
  const budget = { left: MAX_BATCH_READ_BYTES };
  const results = await mapConcurrent(paths, (path, index) => readOne(path, index, maxBytes, budget));
  const contents = [];
  const files = results.map((result) => {
    if (result.error) return { error: result.error };
    contents.push(result.content);
    return { size: result.content.length };
  });
  return [{ files }, Buffer.concat(contents)];
}

/** The hex sha256 of a regular file inside the project (undefined for anything else), read no further than its size. */
async function sha256Of(path) {
  if (!within(await realpath(path))) return undefined;
  const handle = await open(path, OPEN_FLAGS);
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) return undefined;
    const hash = createHash("sha256");
    if (stats.size > 0) for await (const chunk of handle.createReadStream({ autoClose: false, start: 0, end: stats.size - 1 })) hash.update(chunk);
    return hash.digest("hex");
  } finally {
    await handle.close();
  }
}

function relativePosix(path) {
  return relative(ROOT, path).split(sep).join("/");
}

function entryOf(path, stats) {
  const isDir = stats.isDirectory();
  return { path: relativePosix(path), size: isDir ? 0 : stats.size, isDir, mode: stats.mode & 0o777 };
}

/** Most entries one listing returns: a sandbox cannot make the toolbox walk forever. */
const MAX_LISTED = 200_000;

async function walk(dir, recursive, into) {
  // A directory swapped for a symlink since it was seen would lead elsewhere in the sandbox's view: not listed.
  if (!within(await realpath(dir))) return;
  if (into.length > MAX_LISTED) throw new OpError("E2BIG", 0);
  const children = (await readdir(dir, { withFileTypes: true })).filter((child) => child.isFile() || (child.isDirectory() && !IGNORED.has(child.name)));
  const stats = await mapConcurrent(children, (child) => lstat(join(dir, child.name)).catch(() => undefined));
  for (const [index, child] of children.entries()) {
    const found = stats[index];
    if (!found || !(found.isFile() || found.isDirectory())) continue;
    const full = join(dir, child.name);
    into.push(entryOf(full, found));
    if (recursive && found.isDirectory()) {
      await walk(full, true, into).catch((err) => {
        if (err instanceof OpError) throw err;
      });
    }
  }
}

async function listFiles({ path, recursive, hashes }) {
  const base = await onIndex(0, () => locate(path, 0, true));
  const stats = await onIndex(0, () => lstat(base));
  const entries = [];
  if (stats.isDirectory()) await onIndex(0, () => walk(base, recursive, entries));
  else if (stats.isFile()) entries.push(entryOf(base, stats));
  entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  if (hashes) {
    await mapConcurrent(entries.filter((entry) => !entry.isDir), async (entry) => {
      entry.sha256 = await sha256Of(join(ROOT, entry.path)).catch(() => undefined);
    });
  }
  return [{ entries: entries.filter((entry) => entry.isDir || !hashes || entry.sha256) }];
}

async function deletePaths({ paths }) {
  await mapConcurrent(paths, (path, index) =>
    onIndex(index, async () => {
      await rm(await locate(path, index, false), { recursive: true, force: true });
    }),
  );
  return [{}];
}

async function renamePath({ from, to }) {
  const source = await onIndex(0, () => locate(from, 0, false));
  const destination = await onIndex(1, () => locate(to, 1, false));
  await onIndex(0, () => lstat(source));
  await onIndex(1, async () => {
    await mkdir(dirname(destination), { recursive: true });
    await rename(source, destination);
  });
  return [{}];
}

// ------------------------------------------------------------------------------------------- processes

/** Runs that are still going, by the server's run id. */
const runs = new Map();

/** The command line of a run: limits first (soft and hard, so the command cannot raise them), then `bash -lc` with the command as one argument. */
function shellArgs(command) {
  const limits = config.limits ?? {};
  const set = [
    ["-u", limits.processes],
    ["-f", limits.fileSizeBlocks],
    ["-n", limits.openFiles],
    ["-d", limits.dataKiB],
    ["-c", 0],
  ]
    .filter(([, value]) => Number.isInteger(value))
    .map(([flag, value]) => `ulimit ${flag} ${value}`)
    .join(" && ");
  return ["-c", `${set ? `${set} && ` : ""}exec bash -lc "$1"`, "kiln", command];
}

/**
 * With bubblewrap, every command gets a pid namespace of its own inside the sandbox (killing its first
 * process ends all it started, and it cannot see the toolbox), no further user namespaces, and its own
 * session; `--info-fd 3` reports that first process.
 */
function launch(command, cwd, env, terminal) {
  // A terminal's command also reads its input on stdin and its size changes on fd 4 (see ../terminal-command.ts).
  const input = terminal ? "pipe" : "ignore";
  if (config.isolation !== "bubblewrap") {
    return spawn("bash", shellArgs(command), { cwd, env, detached: true, stdio: [input, "pipe", "pipe", "ignore", ...(terminal ? ["pipe"] : [])] });
  }
  const setenv = Object.entries(env).flatMap(([name, value]) => ["--setenv", name, value]);
  // A terminal gets a /dev of its own with a fresh devpts instance: its pseudo-terminal is seen by nothing else.
  const devices = terminal ? ["--dev", "/dev"] : [];
  const args = [
    ...["--unshare-user", "--unshare-pid", "--disable-userns", "--dev-bind", "/", "/", ...devices, "--proc", "/proc"],
    ...["--die-with-parent", "--new-session", "--info-fd", "3", "--chdir", cwd, "--clearenv", ...setenv, "--", "bash", ...shellArgs(command)],
  ];
  return spawn(config.bwrap, args, { cwd, env: { PATH: env.PATH ?? "/usr/bin:/bin" }, detached: true, stdio: [input, "pipe", "pipe", "pipe", ...(terminal ? ["pipe"] : [])] });
}

function signalGroup(pid, signal) {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** Streams one output chunk to the server, pausing the command while the server's pipe is full. */
function forward(run, stream, source) {
  source.on("data", (chunk) => {
    send({ event: "output", run: run.id, stream }, chunk);
    if (outputBlocked) {
      source.pause();
      drainWaiters.push(() => source.resume());
    }
  });
}

async function spawnRun({ run: id, command, cwd, env, terminal }) {
  if (runs.has(id)) throw new OpError("EEXIST", 0);
  const dir = await onIndex(0, () => locate(cwd, 0, true));
  const isDir = await stat(dir).then((stats) => stats.isDirectory(), () => false);
  if (!isDir) throw new OpError("ENOTDIR", 0);
  const child = launch(command, dir, env, terminal === true);
  for (const stream of [child.stdin, child.stdio[4]]) stream?.on("error", () => {});
  // The size pipe is only written; read its end-of-file so the run can close when the command exits.
  child.stdio[4]?.resume();
  const run = { id, child, innerPid: undefined };
  runs.set(id, run);
  if (child.stdio[3]) {
    let info = "";
    child.stdio[3].on("data", (chunk) => {
      info += chunk.toString("utf8");
      try {
        run.innerPid = JSON.parse(info)["child-pid"];
      } catch {
        // not a whole object yet
      }
    });
    child.stdio[3].on("error", () => {});
  }
  forward(run, "stdout", child.stdout);
  forward(run, "stderr", child.stderr);
  child.once("error", (err) => {
    runs.delete(id);
    send({ event: "exit", run: id, code: null, spawnError: err.code ?? "ESPAWN" });
  });
  child.once("exit", () => {
    // Whatever the command left in its group or namespace goes with it; a process that left the group
    // (possible only without bubblewrap) may hold the pipes open: stop waiting for it after the grace period.
    signalGroup(run.innerPid, "SIGKILL");
    signalGroup(child.pid, "SIGKILL");
    setTimeout(() => {
      child.stdout.destroy();
      child.stderr.destroy();
    }, config.graceMs ?? 2000).unref();
  });
  child.once("close", (code) => {
    runs.delete(id);
    send({ event: "exit", run: id, code });
  });
  return [{ pid: child.pid }];
}

async function signalRun({ run: id, signal }) {
  const run = runs.get(id);
  if (!run) return [{ running: false }];
  if (signal === "SIGKILL") {
    signalGroup(run.innerPid, "SIGKILL");
    signalGroup(run.child.pid, "SIGKILL");
  } else {
    signalGroup(run.innerPid ?? run.child.pid, "SIGTERM");
  }
  return [{ running: true }];
}

/** Keystrokes for a terminal run (its stdin); nothing for a run that is gone or no terminal. */
async function inputRun({ run: id }, body) {
  const run = runs.get(id);
  if (!run?.child.stdin) return [{ running: false }];
  run.child.stdin.write(body);
  return [{ running: true }];
}

/** A terminal run's new size, as one "rows cols" line on its fd 4. */
async function resizeRun({ run: id, rows, cols }) {
  const run = runs.get(id);
  const valid = (n) => Number.isInteger(n) && n >= 1 && n <= 1000;
  if (!valid(rows) || !valid(cols)) throw new OpError("EINVAL", 0);
  if (!run?.child.stdio[4]) return [{ running: false }];
  run.child.stdio[4].write(`${rows} ${cols}\n`);
  return [{ running: true }];
}

// ---------------------------------------------------------------------------------------------- serve

const OPS = {
  write: writeFiles,
  read: readFiles,
  list: listFiles,
  delete: deletePaths,
  rename: renamePath,
  spawn: spawnRun,
  signal: signalRun,
  input: inputRun,
  resize: resizeRun,
  ping: async () => [{}],
};

async function handle(header, body) {
  const op = OPS[header.op];
  try {
    if (!op) throw new OpError("ENOSYS", 0);
    const [result, resultBody] = await op(header, body);
    send({ id: header.id, ok: true, ...result }, resultBody);
  } catch (err) {
    const code = err instanceof OpError ? err.code : (err.code ?? "EIO");
    send({ id: header.id, ok: false, error: { code, index: err.index ?? 0 } });
  }
}

const reader = new FrameReader(
  config.maxFrameBytes,
  (header, body) => void handle(header, body),
  () => process.exit(2),
);
process.stdin.on("data", (chunk) => reader.push(chunk));
// The server went away or is closing the sandbox: nothing the toolbox started outlives it.
process.stdin.on("end", () => {
  for (const run of runs.values()) {
    signalGroup(run.innerPid, "SIGKILL");
    signalGroup(run.child.pid, "SIGKILL");
  }
  process.exit(0);
});
send({ event: "ready", pid: process.pid });
