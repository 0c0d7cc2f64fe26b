import { PendingBackups, type AgentBackup, type AgentChecker, type AgentSandbox } from "../../ai/agent/ports";
import { createTools } from "../../ai/agent/tools";
import { CompletionGate, type AppCheckReport } from "../../ai/checks/report";

/** Options that make the doubles misbehave the way real services can. */
export interface DoubleOptions {
  /** The vfs refuses writes while this returns true. */
  vfsDown?: () => boolean;
  /** Paths the sandbox cannot serve (it lost them). */
  sandboxMissing?: Set<string>;
  /** What the checker answers; defaults to every check passing with a preview URL. */
  check?: AgentChecker["check"];
  /** Failed completions before the run ends (default 3). */
  maxFailedCompletions?: number;
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
  const checker: AgentChecker = {
    check: async (request, signal) => {
      calls.push("check");
      return options.check ? options.check(request, signal) : passingReport("http://127.0.0.1:5173");
    },
  };
  const passed: AppCheckReport[] = [];
  const backups = new PendingBackups(backup);
  const gate = new CompletionGate(options.maxFailedCompletions ?? 3);
  const tools = createTools({ sandbox, backup, backups, checker, gate, onPassed: (r) => passed.push(r), commandTimeouts: { defaultTimeoutSeconds: 60, maxTimeoutSeconds: 600 } });
  return { calls, sandboxFiles, vfsFiles, backups, tools, sandbox, passed };
}

/** A report of every check passing, with the preview at `url`. */
export function passingReport(url: string): AppCheckReport {
  return { ok: true, previewUrl: url, screenshot: null, results: [{ kind: "dev_server", target: "npm run dev", ok: true, errors: [], durationMs: 1 }] };
}

/** A report of the dev server failing with `problem` and its log. */
export function devServerDown(problem: string, logTail: string): AppCheckReport {
  return { ok: false, previewUrl: null, screenshot: null, results: [{ kind: "dev_server", target: "npm run dev", ok: false, errors: [{ message: problem }], outputTail: `Dev server log (last lines):\n${logTail}`, durationMs: 1 }] };
}
