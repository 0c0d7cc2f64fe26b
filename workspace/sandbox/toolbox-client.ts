import { spawn, type ChildProcess, type StdioOptions } from "node:child_process";
import type { Readable, Writable } from "node:stream";
import { AppError } from "../../lib/errors";
import { encodeFrame, FrameReader } from "./toolbox/frames.mjs";

/** The largest frame either side accepts: a batch of files travels as one frame. */
export const MAX_FRAME_BYTES = 512 * 1024 * 1024;
/** How long the toolbox may take to say it is ready. */
const READY_TIMEOUT_MS = 30_000;
/** How long one request may wait for its reply before the toolbox is taken for stuck and killed. */
const CALL_TIMEOUT_MS = 120_000;

/** How to start a toolbox process on the host: program, argv, environment and the extra descriptors it inherits. */
export interface ToolboxSpawn {
  file: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  uid?: number;
  gid?: number;
  /** Descriptors from 3 up: `"pipe"` (read by {@link ToolboxSpawn.onPipe}), data written then closed, or an open fd passed as it is. */
  fds: Array<{ pipe: (stream: Readable) => void } | { data: Buffer } | { fd: number }>;
}

/** How a run of the toolbox ended: the exit code (null when killed) or why it never started. */
export interface GroupExit {
  exitCode: number | null;
  spawnError?: Error;
}

/** A command running inside the sandbox, started by the toolbox. */
export interface GroupProcess {
  /** Resolves once the command has exited and its output is drained; whatever it started is gone too. */
  readonly finished: Promise<GroupExit>;
  readonly running: boolean;
  /** SIGTERM, SIGKILL after the grace period; resolves once finished. */
  terminate(): Promise<void>;
}

/** A terminal's command inside the sandbox: a {@link GroupProcess} that also takes input and size changes. */
export interface TerminalProcess extends GroupProcess {
  write(data: Buffer): Promise<void>;
  resize(rows: number, cols: number): Promise<void>;
}

/** What to run: a shell command line in a directory of the project, with its whole environment. */
export interface RunRequest {
  command: string;
  /** Relative to the project root, already checked. */
  cwd: string;
  env: Record<string, string>;
}

/** A toolbox's answer: its header fields and its raw bytes. */
export interface ToolboxReply {
  header: Record<string, unknown>;
  body: Buffer;
}

/** The failure of an operation as the toolbox reports it: an errno-like code and the index of the item it concerns. */
export class ToolboxOpError extends Error {
  constructor(
    readonly code: string,
    readonly index: number,
  ) {
    super(`toolbox operation failed: ${code}`);
  }
}

interface RunListener {
  output(stream: "stdout" | "stderr", chunk: Buffer): void;
  exit(exit: GroupExit): void;
}

/**
 * The server's end of one sandbox's toolbox (workspace/sandbox/toolbox/toolbox.mjs): requests and their
 * replies matched by id, output and exit events routed to their runs. Everything the toolbox sends is
 * treated as untrusted data: a malformed frame kills it, and every pending call fails.
 */
export class Toolbox {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (reply: ToolboxReply) => void; reject: (err: Error) => void }>();
  private readonly listeners = new Map<string, RunListener>();
  private failure: Error | undefined;
  /** Resolves once the toolbox process has exited. */
  readonly exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    private readonly graceMs: number,
    onReady: (err?: Error) => void,
    onStderr: (text: string) => void,
  ) {
    const stdin = child.stdin as Writable;
    stdin.on("error", () => {});
    const reader = new FrameReader(MAX_FRAME_BYTES, (header, body) => this.receive(header, body, onReady), (err) => {
      this.fail(err);
      onReady(this.failure);
    });
    (child.stdout as Readable).on("data", (chunk: Buffer) => reader.push(chunk));
    (child.stderr as Readable).on("data", (chunk: Buffer) => onStderr(chunk.toString("utf8").slice(0, 4000)));
    this.exited = new Promise((resolve) => {
      child.once("error", (err) => {
        this.fail(err);
        onReady(err);
        resolve();
      });
      child.once("close", (code, signal) => {
        const err = new AppError("unavailable", `the sandbox's toolbox exited (${signal ?? `code ${code}`})`);
        this.fail(err);
        onReady(err);
        resolve();
      });
    });
  }

  /** Starts a toolbox and resolves once it says it is ready; its stderr goes to `onStderr`. */
  static async start(spec: ToolboxSpawn, options: { graceMs: number; onStderr: (text: string) => void }): Promise<Toolbox> {
    const stdio: StdioOptions = ["pipe", "pipe", "pipe", ...spec.fds.map((fd) => ("fd" in fd ? fd.fd : "pipe"))];
    const child = spawn(spec.file, spec.args, { cwd: spec.cwd, env: spec.env, uid: spec.uid, gid: spec.gid, detached: true, stdio });
    spec.fds.forEach((fd, index) => {
      const stream = child.stdio[index + 3] as (Readable & Writable) | null;
      if (!stream) return;
      stream.on("error", () => {});
      if ("data" in fd) stream.end(fd.data);
      else if ("pipe" in fd) fd.pipe(stream);
    });
    let settle!: (err?: Error) => void;
    const ready = new Promise<void>((resolve, reject) => {
      settle = (err) => (err ? reject(err) : resolve());
    });
    const toolbox = new Toolbox(child, options.graceMs, (err) => settle(err), options.onStderr);
    const timer = setTimeout(() => settle(new AppError("unavailable", `the sandbox's toolbox did not start within ${READY_TIMEOUT_MS / 1000} s`)), READY_TIMEOUT_MS);
    try {
      await ready;
    } catch (err) {
      await toolbox.kill();
      throw err;
    } finally {
      clearTimeout(timer);
    }
    return toolbox;
  }

  /** The host pid of the toolbox process (bwrap's, when isolated). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return this.failure === undefined;
  }

  private receive(header: Record<string, unknown>, body: Buffer, onReady: (err?: Error) => void): void {
    if (header.event === "ready") return onReady();
    if (typeof header.id === "number") {
      const waiter = this.pending.get(header.id);
      if (!waiter) {
        this.fail(new Error("toolbox protocol error: a reply to no request"));
        return onReady(this.failure);
      }
      this.pending.delete(header.id);
      if (header.ok === true) return waiter.resolve({ header, body });
      const error = header.error as { code?: unknown; index?: unknown } | undefined;
      const code = typeof error?.code === "string" ? error.code : "EIO";
      const index = typeof error?.index === "number" && Number.isInteger(error.index) ? error.index : 0;
      return waiter.reject(new ToolboxOpError(code, index));
    }
    const listener = typeof header.run === "string" ? this.listeners.get(header.run) : undefined;
    if (!listener) return;
    if (header.event === "output") listener.output(header.stream === "stderr" ? "stderr" : "stdout", body);
    else if (header.event === "exit") {
      this.listeners.delete(header.run as string);
      const spawnError = typeof header.spawnError === "string" ? new Error(`the command could not start (${header.spawnError})`) : undefined;
      listener.exit({ exitCode: typeof header.code === "number" ? header.code : null, spawnError });
    }
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err instanceof AppError ? err : new AppError("unavailable", `the sandbox's toolbox failed: ${err.message}`);
    for (const waiter of this.pending.values()) waiter.reject(this.failure);
    this.pending.clear();
    for (const listener of this.listeners.values()) listener.exit({ exitCode: null });
    this.listeners.clear();
    if (this.child.exitCode === null && this.child.signalCode === null) this.killGroup();
  }

  private killGroup(): void {
    try {
      if (this.child.pid) process.kill(-this.child.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }

  /** Sends one request and waits for its reply; a failed operation rejects with {@link ToolboxOpError}. */
  call(op: string, args: Record<string, unknown>, body?: Buffer): Promise<ToolboxReply> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<ToolboxReply>((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new AppError("unavailable", `the sandbox's toolbox did not answer a ${op} within ${CALL_TIMEOUT_MS / 1000} s; it was stopped`)), CALL_TIMEOUT_MS);
      timer.unref();
      const done = <T>(settle: (value: T) => void) => (value: T) => {
        clearTimeout(timer);
        settle(value);
      };
      this.pending.set(id, { resolve: done(resolve), reject: done(reject) });
      (this.child.stdin as Writable).write(encodeFrame({ ...args, id, op }, body));
    });
  }

  /**
   * Starts a command; resolves once it runs (a bad working directory rejects with the toolbox's error).
   * Its output goes to `onOutput` as it arrives.
   */
  run(request: RunRequest, onOutput: (stream: "stdout" | "stderr", chunk: Buffer) => void): Promise<GroupProcess> {
    return this.start(request, onOutput, false);
  }

  /** Starts a terminal's command (see terminal-command.ts): like {@link run}, with its stdin and its size pipe. */
  async runTerminal(request: RunRequest, onOutput: (chunk: Buffer) => void): Promise<TerminalProcess> {
    const group = await this.start(request, (_stream, chunk) => onOutput(chunk), true);
    const runId = group.runId;
    return {
      finished: group.finished,
      get running() {
        return group.running;
      },
      terminate: () => group.terminate(),
      write: async (data) => void (await this.call("input", { run: runId }, data)),
      resize: async (rows, cols) => void (await this.call("resize", { run: runId, rows, cols })),
    };
  }

  private async start(request: RunRequest, onOutput: (stream: "stdout" | "stderr", chunk: Buffer) => void, terminal: boolean): Promise<GroupProcess & { runId: string }> {
    const runId = `run-${this.nextId++}`;
    let running = true;
    let killed = false;
    let settle!: (exit: GroupExit) => void;
    const finished = new Promise<GroupExit>((resolve) => {
      settle = (exit) => {
        running = false;
        resolve(killed && exit.exitCode !== null ? { ...exit, exitCode: null } : exit);
      };
    });
    this.listeners.set(runId, { output: onOutput, exit: (exit) => settle(exit) });
    try {
      await this.call("spawn", { run: runId, command: request.command, cwd: request.cwd, env: request.env, terminal });
    } catch (err) {
      this.listeners.delete(runId);
      throw err;
    }
    const signal = (name: "SIGTERM" | "SIGKILL") => this.call("signal", { run: runId, signal: name }).catch(() => undefined);
    const delay = (ms: number) => new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms).unref());
    return {
      runId,
      finished,
      get running() {
        return running;
      },
      terminate: async () => {
        if (!running) return;
        killed = true;
        await signal("SIGTERM");
        const done = await Promise.race([finished.then(() => true), delay(this.graceMs)]);
        if (!done) await signal("SIGKILL");
        await Promise.race([finished, delay(this.graceMs)]);
        if (running) settle({ exitCode: null });
      },
    };
  }

  /** Ends the toolbox and, with it, every process of the sandbox: asked first (it kills its runs), then killed. */
  async kill(): Promise<void> {
    (this.child.stdin as Writable).end();
    const exited = await Promise.race([this.exited.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), this.graceMs).unref())]);
    if (!exited) this.killGroup();
    await this.exited;
  }
}
