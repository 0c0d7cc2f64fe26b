import type { AppCheckReport } from "../checks/report";

/** One entry of a file listing. */
export interface AgentFileEntry {
  path: string;
  size: number;
  isDir: boolean;
}

/** What a command did. */
export interface AgentCommandResult {
  exitCode: number | null;
  /** Combined stdout and stderr, already capped by the sandbox. */
  output: string;
  timedOut: boolean;
}

/** The live sandbox as the agent's tools see it (the workspace service, through its contract). */
export interface AgentSandbox {
  writeFile(path: string, content: string): Promise<void>;
  /** Throws when the file is missing or the sandbox cannot serve it. */
  readFile(path: string): Promise<string>;
  listFiles(path: string, recursive: boolean): Promise<AgentFileEntry[]>;
  /** Lines matching a regular expression (grep -E semantics), under `path`. */
  searchFiles(pattern: string, path: string): Promise<{ path: string; line: number; text: string }[]>;
  /** Runs a shell command in the project directory (or `cwd` inside it). */
  exec(command: string, options: { cwd?: string; timeoutMs: number; signal: AbortSignal }): Promise<AgentCommandResult>;
  /** Starts a long-running command (a dev server) and returns what it printed first. */
  startBackground(command: string, options: { cwd?: string }): Promise<{ processId: string; firstOutput: string }>;
}

/** The durable copy (the vfs service, through its contract). */
export interface AgentBackup {
  save(path: string, content: string): Promise<void>;
  /** The latest saved version, or null when the vfs has none. */
  readLatest(path: string): Promise<string | null>;
}

/**
 * Checking the app (the job, through the workspace): back the sandbox up, run the project's typecheck,
 * build and lint, bring the dev server up (the given command and port, else the detected ones) and load
 * the preview in a real browser. The report says what failed, where.
 */
export interface AgentChecker {
  check(request: { devCommand?: string; port?: number }, signal: AbortSignal): Promise<AppCheckReport>;
}

/**
 * Backups that have not reached the vfs yet. A failed backup never fails the tool and never loses the
 * file: it waits here, newest content per path, until a flush gets it through.
 */
export class PendingBackups {
  private readonly pending = new Map<string, string>();

  constructor(private readonly backup: AgentBackup) {}

  /** Saves now, or keeps the file pending when the vfs is unreachable. Returns whether it was saved. */
  async save(path: string, content: string): Promise<boolean> {
    this.pending.set(path, content);
    return this.flushOne(path);
  }

  /** Retries every pending backup; returns the paths still pending. */
  async flush(): Promise<string[]> {
    for (const path of [...this.pending.keys()]) await this.flushOne(path);
    return [...this.pending.keys()];
  }

  get size(): number {
    return this.pending.size;
  }

  private async flushOne(path: string): Promise<boolean> {
    const content = this.pending.get(path);
    if (content === undefined) return true;
    try {
      await this.backup.save(path, content);
      if (this.pending.get(path) === content) this.pending.delete(path);
      return true;
    } catch {
      return false;
    }
  }
}
