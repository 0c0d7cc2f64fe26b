import { createHash, randomBytes } from "node:crypto";
import type pg from "pg";
import { AppError } from "../lib/errors";
import { newId } from "../lib/ids";
import type { AuthData } from "../lib/routes";

const TOKEN_PREFIX = "kiln_";
const DISPLAY_PREFIX_LENGTH = 12;

/** How a token is kept: its sha256 (tokens are 256 random bits, so a fast hash is enough). */
export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/** A new random token: `kiln_` and 43 base64url characters. */
export function generateToken(): string {
  return `${TOKEN_PREFIX}${randomBytes(32).toString("base64url")}`;
}

/** A newly created token: the only time its secret value is shown. */
export interface IssuedToken {
  id: string;
  userID: string;
  token: string;
  prefix: string;
}

/** Issues a token for `userID`, storing only its hash. `token` may be supplied (bootstrap from the environment). */
export async function issueToken(db: pg.Pool | pg.PoolClient, userID: string, name: string, token = generateToken()): Promise<IssuedToken> {
  const id = newId("tok");
  const prefix = token.slice(0, DISPLAY_PREFIX_LENGTH);
  await db.query("INSERT INTO api_tokens (id, user_id, name, prefix, token_hash) VALUES ($1, $2, $3, $4, $5)", [id, userID, name, prefix, hashToken(token)]);
  return { id, userID, token, prefix };
}

/**
 * Verifies an `Authorization: Bearer <token>` header: the one function behind Encore's auth handler
 * and the standalone server's hook. Missing, malformed, unknown and revoked tokens are all 401.
 */
export async function authenticate(db: pg.Pool, header: string | undefined): Promise<AuthData> {
  if (!header) throw new AppError("unauthenticated", "missing Authorization header (expected: Bearer <token>)");
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw new AppError("unauthenticated", "malformed Authorization header (expected: Bearer <token>)");
  const result = await db.query<{ user_id: string; revoked: boolean; id: string; stale: boolean }>(
    `SELECT id, user_id, revoked_at IS NOT NULL AS revoked,
            (last_used_at IS NULL OR last_used_at < now() - interval '1 minute') AS stale
       FROM api_tokens WHERE token_hash = $1`,
    [hashToken(match[1]!)],
  );
  const row = result.rows[0];
  if (!row) throw new AppError("unauthenticated", "invalid token");
  if (row.revoked) throw new AppError("unauthenticated", "this token has been revoked");
  if (row.stale) await db.query("UPDATE api_tokens SET last_used_at = now() WHERE id = $1", [row.id]);
  return { userID: row.user_id };
}
