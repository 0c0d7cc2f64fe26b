import { PendingBackups, type AgentBackup, type AgentFinisher, type AgentSandbox } from "../../ai/agent/ports";
import { createTools } from "../../ai/agent/tools";

/** Options that make the doubles misbehave the way real services can. */
export interface DoubleOptions {
  /** The vfs refuses writes while this returns true. */
  vfsDown?: () => boolean;
  /** Paths the sandbox cannot serve (it lost them). */
  sandboxMissing?: Set<string>;
  /** What `finish` answers; defaults to a preview URL. */
  finish?: AgentFinisher["finish"];
  /** What `exec` answers for a command. */
  exec?: AgentSandbox["exec"];
}

/**
 * Recording doubles of the sandbox (workspace) and the vfs, as the agent's ports: every call lands in
 * `calls`, in order, so tests can assert the sandbox-first order.
 */
export function agentDoubles(options: DoubleOptions = {}) {
  const calls: string[] = [];
  const sandboxFiles = new Map<string, string>();
  const vfsFiles = new Map<string, string>();
  const sandbox: AgentSandbox = {
    async writeFile(path, content) {
      calls.push(`sandbox.write ${path}`);
      sandboxFiles.set(path, content);
    },
    async readFile(path) {
      calls.push(`sandbox.read ${path}`);
      const content = options.sandboxMissing?.has(path) ? undefined : sandboxFiles.get(path);
      if (content === undefined) throw new Error(`${path} not found in the sandbox`);
      return content;
    },
    async listFiles(path) {
      calls.push(`sandbox.list ${path}`);
      return [...sandboxFiles].filter(([p]) => p.startsWith(path)).map(([p, c]) => ({ path: p, size: c.length, isDir: false }));
    },
    async searchFiles(pattern, path) {
      calls.push(`sandbox.search ${pattern}${path ? ` in ${path}` : ""}`);
      const re = new RegExp(pattern);
      return [...sandboxFiles].flatMap(([path, content]) =>
        content.split("\n").flatMap((text, i) => (re.test(text) ? [{ path, line: i + 1, text }] : [])),
      );
    },
    async exec(command, opts) {
      calls.push(`sandbox.exec ${command}${opts.cwd ? ` in ${opts.cwd}` : ""}`);
      return options.exec ? options.exec(command, opts) : { exitCode: 0, output: "", timedOut: false };
    },
    async startBackground(command) {
      calls.push(`sandbox.background ${command}`);
      return { processId: "proc_1", firstOutput: "ready on :5173" };
    },
  };
  const backup: AgentBackup = {
    async save(path, content) {
      calls.push(`vfs.save ${path}`);
      if (options.vfsDown?.()) throw new Error("vfs unavailable");
      vfsFiles.set(path, content);
    },
    async readLatest(path) {
      calls.push(`vfs.read ${path}`);
      return vfsFiles.get(path) ?? null;
    },
  };
  const finisher: AgentFinisher = {
    finish: async (request) => {
      calls.push("finish");
      return options.finish ? options.finish(request) : { previewUrl: "http://127.0.0.1:5173" };
    },
  };
  const backups = new PendingBackups(backup);
  const tools = createTools({ sandbox, backup, backups, finisher, commandTimeouts: { defaultTimeoutSeconds: 60, maxTimeoutSeconds: 600 } });
  return { calls, sandboxFiles, vfsFiles, backups, tools, sandbox };
}
