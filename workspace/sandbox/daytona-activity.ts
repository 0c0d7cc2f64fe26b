/**
 * Keeps sandboxes awake while Kiln is using them. Daytona's auto-stop counts only preview and toolbox
 * requests as activity: a job between tool calls (a long model turn), a command held in one request, or
 * a preview someone is looking at without reloading would be stopped under the user. The keeper refreshes
 * a sandbox's activity (`sandbox.refreshActivity()`) on a timer for as long as something holds it:
 * a command in flight (a lease), or a window after the last use or after a preview link was handed out.
 */
import { AppError } from "../../lib/errors";
import type { Logger } from "../../lib/log";
import { messageOf } from "./daytona-errors";

/** Marks the sandbox active now: `sandbox.refreshActivity()`; a rejection with `not_found` drops it. */
export type RefreshActivity = (sandboxId: string) => Promise<void>;

interface Hold {
  /** Commands in flight. */
  leases: number;
  /** Date.now() until which the sandbox stays awake without a lease. */
  until: number;
}

/** One timer refreshing the activity of every held sandbox. */
export class ActivityKeeper {
  private readonly holds = new Map<string, Hold>();
  private readonly timer: NodeJS.Timeout;
  private refreshing = false;

  constructor(
    private readonly refresh: RefreshActivity,
    intervalMs: number,
    private readonly log: Logger,
  ) {
    this.timer = setInterval(() => void this.tick(), intervalMs);
    this.timer.unref();
  }

  private hold(sandboxId: string): Hold {
    let hold = this.holds.get(sandboxId);
    if (!hold) {
      hold = { leases: 0, until: 0 };
      this.holds.set(sandboxId, hold);
    }
    return hold;
  }

  /** Keeps the sandbox awake until at least `until` (Date.now() milliseconds). */
  extend(sandboxId: string, until: number): void {
    const hold = this.hold(sandboxId);
    hold.until = Math.max(hold.until, until);
  }

  /** Keeps the sandbox awake until the returned release is called (a command in flight). */
  lease(sandboxId: string): () => void {
    const hold = this.hold(sandboxId);
    hold.leases += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      hold.leases -= 1;
    };
  }

  /** Lets the sandbox sleep: it was stopped or deleted. */
  drop(sandboxId: string): void {
    this.holds.delete(sandboxId);
  }

  /** The sandboxes held right now. */
  held(now = Date.now()): string[] {
    return [...this.holds.entries()].filter(([, hold]) => hold.leases > 0 || hold.until > now).map(([id]) => id);
  }

  private async tick(): Promise<void> {
    if (this.refreshing) return;
    this.refreshing = true;
    try {
      const now = Date.now();
      for (const [id, hold] of this.holds) if (hold.leases === 0 && hold.until <= now) this.holds.delete(id);
      await Promise.all(
        this.held(now).map((id) =>
          this.refresh(id).catch((err: unknown) => {
            if (err instanceof AppError && err.code === "not_found") this.holds.delete(id);
            else this.log.warn("refreshing a daytona sandbox's activity failed", { sandboxId: id, reason: messageOf(err) });
          }),
        ),
      );
    } finally {
      this.refreshing = false;
    }
  }

  /** Stops the timer. */
  close(): void {
    clearInterval(this.timer);
    this.holds.clear();
  }
}
