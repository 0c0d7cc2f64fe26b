/** Wakes the event streams of a job in this process when one of its events is appended. */
export class LiveEvents {
  private readonly listeners = new Map<string, Set<() => void>>();

  /** Calls `listener` after each new event of `jobId`; returns the unsubscribe function. */
  subscribe(jobId: string, listener: () => void): () => void {
    let set = this.listeners.get(jobId);
    if (!set) this.listeners.set(jobId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(jobId);
    };
  }

  notify(jobId: string): void {
    for (const listener of this.listeners.get(jobId) ?? []) listener();
  }
}
