/** The live sandbox as the agent's tools see it (the workspace service, through its contract). */
export interface AgentSandbox {
  writeFile(path: string, content: string): Promise<void>;
  /** Throws when the file is missing or the sandbox cannot serve it. */
  readFile(path: string): Promise<string>;
}

/** The durable copy (the vfs service, through its contract). */
export interface AgentBackup {
  save(path: string, content: string): Promise<void>;
  /** The latest saved version, or null when the vfs has none. */
  readLatest(path: string): Promise<string | null>;
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
