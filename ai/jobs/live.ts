import type { EventChannel } from "./notify";
import type { JobEvent } from "./store";

/** Told of a job's news: the events themselves when they were stored in this process, else nothing (read them). */
export type NewsListener = (events?: readonly JobEvent[]) => void;

/**
 * Wakes the event streams of a job when one of its events is appended: at once for streams in this
 * process, handing them the stored events so they need not read them back, and through `channel`
 * (Postgres NOTIFY) for those of other processes, which read what they have not sent yet. The database
 * stays the source of truth: a stream that finds a gap in what it was handed reads it.
 */
export class LiveEvents {
  private readonly listeners = new Map<string, Set<NewsListener>>();
  /** Per followed job: how many times it had news, so a read can tell whether it began after the latest. */
  private readonly news = new Map<string, number>();
  private readonly reads = new Map<string, Promise<unknown>>();

  constructor(private readonly channel?: EventChannel) {}

  /** Calls `listener` after each new event of `jobId`; returns the unsubscribe function. */
  subscribe(jobId: string, listener: NewsListener): () => void {
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

  /**
   * Says that `jobId` has new events, here (with `events`, those just stored, when known) and to other
   * processes. Call it once they are committed.
   */
  notify(jobId: string, events?: readonly JobEvent[]): void {
    this.wake(jobId, events);
    this.channel?.publish(jobId);
  }

  /** Stops listening to other processes. */
  async close(): Promise<void> {
    await this.channel?.close();
  }

  private wake(jobId: string, events?: readonly JobEvent[]): void {
    const listeners = this.listeners.get(jobId);
    if (!listeners) return;
    this.news.set(jobId, (this.news.get(jobId) ?? 0) + 1);
    for (const listener of this.listeners.get(jobId) ?? []) listener(events);
  }

  private wakeAll(): void {
    for (const jobId of this.listeners.keys()) this.wake(jobId);
  }
}
