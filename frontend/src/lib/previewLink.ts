/** The share of a preview link's remaining life after which the dashboard asks for a fresh one. */
const REFRESH_AT = 0.8;
/** Never ask again sooner than this (a link already near its end, a clock off by a little). */
const MIN_REFRESH_MS = 5_000;

/**
 * How long the dashboard may keep a preview link that expires at `expiresAt` before asking for a fresh
 * one; false for a link that does not expire. It asks when a fifth of the link's life is left: the server
 * hands out the same link while more than half of its TTL is left, and a new one after that.
 */
export function previewRefreshMs(expiresAt: string | null, now: number): number | false {
  if (expiresAt === null) return false;
  const left = Date.parse(expiresAt) - now;
  if (!Number.isFinite(left)) return false;
  return Math.max(MIN_REFRESH_MS, Math.floor(left * REFRESH_AT));
}
