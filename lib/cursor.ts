import { invalidArgument } from "./errors";

/** A page position for lists ordered by (created_at DESC, id DESC): the last row of the previous page. */
export function encodeCursor(createdAt: Date, id: string): string {
  return Buffer.from(JSON.stringify([createdAt.toISOString(), id])).toString("base64url");
}

/** Reads a cursor back; anything not made by `encodeCursor` is `invalid_argument` on `cursor`. */
export function decodeCursor(cursor: unknown): [string, string] | null {
  if (cursor === undefined || cursor === null) return null;
  if (typeof cursor === "string" && cursor.length <= 500) {
    try {
      const [createdAt, id] = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as unknown[];
      if (typeof createdAt === "string" && typeof id === "string" && !Number.isNaN(Date.parse(createdAt))) return [createdAt, id];
    } catch {
      // falls through to the error below
    }
  }
  throw invalidArgument("cursor", "is not a cursor returned by this API");
}
