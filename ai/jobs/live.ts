import type { EventChannel } from "./notify";

/**
 * Wakes the event streams of a job when one of its events is appended: at once for streams in this
 * process, through `channel` (Postgres NOTIFY) for those of other processes. The database stays the
 * source of truth: a wake only makes a stream read what it has not sent yet.
 */
export class LiveEvents {
  private readonly listeners = new Map<string, Set<() => void>>();

  constructor(private readonly channel?: EventChannel) {}

  /** Calls `listener` after each new event of `jobId`; returns the unsubscribe function. */
  subscribe(jobId: string, listener: () => void): () => void {
    this.channel?.start({ deliver: (id) => this.wake(id), resync: () => this.wakeAll(), watched: () => [...this.listeners.keys()] });
    let set = this.listeners.get(jobId);
    if (!set) this.listeners.set(jobId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(jobId);
    };
  }

  /** Says that `jobId` has a new event, here and to other processes. Call it once the event is stored. */
  notify(jobId: string): void {
    this.wake(jobId);
    this.channel?.publish(jobId);
  }

  /** Stops listening to other processes. */
  async close(): Promise<void> {
    await this.channel?.close();
  }

  private wake(jobId: string): void {
    for (const listener of this.listeners.get(jobId) ?? []) listener();
  }

  private wakeAll(): void {
    for (const jobId of this.listeners.keys()) this.wake(jobId);
  }
}
