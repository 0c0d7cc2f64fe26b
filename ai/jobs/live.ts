import type { EventChannel } from "./notify";

/**
 * Wakes the event streams of a job when one of its events is appended: at once for streams in this
 * process, through `channel` (Postgres NOTIFY) for those of other processes. The database stays the
 * source of truth: a wake only makes a stream read what it has not sent yet.
 */
export class LiveEvents {
  private readonly listeners = new Map<string, Set<() => void>>();
  /** Per followed job: how many times it had news, so a read can tell whether it began after the latest. */
  private readonly news = new Map<string, number>();
  private readonly reads = new Map<string, Promise<unknown>>();

  constructor(private readonly channel?: EventChannel) {}

  /** Calls `listener` after each new event of `jobId`; returns the unsubscribe function. */
  subscribe(jobId: string, listener: () => void): () => void {
    this.channel?.start({ deliver: (id) => this.wake(id), resync: () => this.wakeAll(), watched: () => [...this.listeners.keys()] });
    let set = this.listeners.get(jobId);
    if (!set) this.listeners.set(jobId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size !== 0) return;
      this.listeners.delete(jobId);
      this.news.delete(jobId);
    };
  }

  /**
   * Runs `read` (of `jobId`'s events after `afterSeq`), or joins the same read another stream of the job
   * began since the job's latest news: the watchers of one job woken together cost one query, and a
   * read that began before news is never joined by a stream that news woke.
   */
  shared<T>(jobId: string, afterSeq: number, read: () => Promise<T>): Promise<T> {
    const key = `${jobId} ${afterSeq} ${this.news.get(jobId) ?? 0}`;
    let pending = this.reads.get(key) as Promise<T> | undefined;
    if (!pending) {
      pending = read().finally(() => this.reads.delete(key));
      this.reads.set(key, pending);
    }
    return pending;
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
    const listeners = this.listeners.get(jobId);
    if (!listeners) return;
    this.news.set(jobId, (this.news.get(jobId) ?? 0) + 1);
    for (const listener of this.listeners.get(jobId) ?? []) listener();
  }

  private wakeAll(): void {
    for (const jobId of this.listeners.keys()) this.wake(jobId);
  }
}
