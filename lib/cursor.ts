import { invalidArgument } from "./errors";

/**
 * The timestamps a cursor may hold: `toISOString()` output for years 0001–9999. Postgres' timestamptz
 * cannot store year 0 or anything past 294276, and `Date.parse` accepts far more than both agree on.
 */
const ISO_INSTANT = /^(?!0000)\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * The key lists are ordered and paged by, in SQL: `created_at` at the millisecond precision a cursor keeps
 * (Postgres keeps microseconds; comparing a cursor's milliseconds with them would skip the rows of a page
 * boundary's millisecond that sort after it). Ties within a millisecond are broken by id.
 */
export const CURSOR_KEY = "date_trunc('milliseconds', created_at)";

/** A page position for lists ordered by (created_at DESC, id DESC): the last row of the previous page. */
export function encodeCursor(createdAt: Date, id: string): string {
  return Buffer.from(JSON.stringify([createdAt.toISOString(), id])).toString("base64url");
}

function isInstant(text: string): boolean {
  return ISO_INSTANT.test(text) && new Date(text).toISOString() === text;
}

/** Reads a cursor back; anything not made by `encodeCursor` is `invalid_argument` on `cursor`. */
export function decodeCursor(cursor: unknown): [string, string] | null {
  if (cursor === undefined || cursor === null) return null;
  if (typeof cursor === "string" && cursor.length <= 500) {
    try {
      const [createdAt, id] = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as unknown[];
      if (typeof createdAt === "string" && isInstant(createdAt) && typeof id === "string" && !id.includes("\u0000")) return [createdAt, id];
    } catch {
      // falls through to the error below
    }
  }
  throw invalidArgument("cursor", "is not a cursor returned by this API");
}
