/** When the guard steps in: after `warnAfter` identical failures it tells the model, after `stopAfter` it ends the run. */
export interface LoopGuardLimits {
  warnAfter: number;
  stopAfter: number;
}

/** What the guard decided about one tool call. */
export type LoopVerdict = { action: "none" } | { action: "warn" | "stop"; repeats: number; message: string };

/** Numbers that change between otherwise identical failures (timings, pids, ports). */
const normalize = (output: string) => output.replace(/\d+/g, "#").slice(0, 2000);

function describe(name: string, input: unknown): string {
  const record = (input ?? {}) as Record<string, unknown>;
  const detail = typeof record.command === "string" ? record.command : typeof record.path === "string" ? record.path : "";
  return detail ? `${name} (${detail.length > 80 ? `${detail.slice(0, 80)}…` : detail})` : name;
}

/**
 * Notices a model repeating itself: the same tool with the same input failing with the same error, call
 * after call. Other calls in between (rewriting a file with the same content, say) do not reset it;
 * the call succeeding, or failing differently, does.
 */
export class LoopGuard {
  private readonly streaks = new Map<string, number>();

  constructor(private readonly limits: LoopGuardLimits) {}

  /** Records one finished call and says whether to warn the model or stop the run. */
  observe(name: string, input: unknown, ok: boolean, output: string): LoopVerdict {
    const call = `${name}\u0000${JSON.stringify(input ?? null)}`;
    if (ok) {
      for (const key of this.streaks.keys()) if (key.startsWith(`${call}\u0000`)) this.streaks.delete(key);
      return { action: "none" };
    }
    const key = `${call}\u0000${normalize(output)}`;
    for (const other of this.streaks.keys()) if (other.startsWith(`${call}\u0000`) && other !== key) this.streaks.delete(other);
    const repeats = (this.streaks.get(key) ?? 0) + 1;
    this.streaks.set(key, repeats);
    const what = describe(name, input);
    if (repeats >= this.limits.stopAfter) {
      return { action: "stop", repeats, message: `stopped: ${what} failed the same way ${repeats} times in a row` };
    }
    if (repeats >= this.limits.warnAfter) {
      return {
        action: "warn",
        repeats,
        message: `Kiln: this exact call has now failed the same way ${repeats} times. Repeating it will not help: read the error, look at the files it names, and change approach. After ${this.limits.stopAfter} identical failures the run stops.`,
      };
    }
    return { action: "none" };
  }
}
