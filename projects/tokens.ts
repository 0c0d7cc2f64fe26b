import { createHash, randomBytes } from "node:crypto";
import type pg from "pg";
import { AppError, notFound } from "../lib/errors";
import { newId } from "../lib/ids";
import type { AuthData } from "../lib/routes";
import type { CreatedToken, TokenInfo } from "./contract";

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

interface TokenRow {
  id: string;
  name: string;
  prefix: string;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

const TOKEN_COLUMNS = "id, name, prefix, created_at, last_used_at, revoked_at";

function toTokenInfo(row: TokenRow): TokenInfo {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    createdAt: row.created_at.toISOString(),
    lastUsedAt: row.last_used_at?.toISOString() ?? null,
    revokedAt: row.revoked_at?.toISOString() ?? null,
  };
}

/** A new token for `userID`: its value (shown once) and how it is listed. */
export async function createToken(db: pg.Pool, userID: string, name: string): Promise<CreatedToken> {
  const issued = await issueToken(db, userID, name);
  const row = await db.query<TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM api_tokens WHERE id = $1`, [issued.id]);
  return { token: issued.token, info: toTokenInfo(row.rows[0]!) };
}

/** A user's tokens, newest first: never their values or hashes. */
export async function listTokens(db: pg.Pool, userID: string): Promise<TokenInfo[]> {
  const result = await db.query<TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM api_tokens WHERE user_id = $1 ORDER BY created_at DESC, id DESC`, [userID]);
  return result.rows.map(toTokenInfo);
}

/** Revokes one of a user's tokens (another user's is `not_found`); revoking twice keeps the first time. */
export async function revokeToken(db: pg.Pool, userID: string, id: string): Promise<TokenInfo> {
  const result = await db.query<TokenRow>(
    `UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1 AND user_id = $2 RETURNING ${TOKEN_COLUMNS}`,
    [id, userID],
  );
  if (!result.rows[0]) throw notFound("token", id);
  return toTokenInfo(result.rows[0]);
}
