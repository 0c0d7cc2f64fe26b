/**
 * Polls `check` until it returns a value other than undefined/false, and returns it; fails after
 * `timeoutMs` with `what` and the last value seen. For conditions no event announces.
 */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, options: { timeoutMs?: number; intervalMs?: number } = {}): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  let last: unknown;
  for (;;) {
    last = await check();
    if (last !== undefined && last !== false) return last as T;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
    await new Promise((done) => setTimeout(done, options.intervalMs ?? 100));
  }
}
