import { randomBytes } from "node:crypto";
import type pg from "pg";
import { AppError, invalidArgument, notFound } from "../../lib/errors";
import { newId } from "../../lib/ids";
import type { CreatedShareLink, ShareLink } from "../contract";
import { hashToken } from "../tokens";

/** Share tokens: `ks_` and 43 base64url characters (256 random bits). */
const TOKEN_PATTERN = /^ks_[A-Za-z0-9_-]{43}$/;
const DISPLAY_PREFIX_LENGTH = 10;

/** How long a link lives when its creator names no expiry, and the bounds of what may be named. */
export const SHARE_EXPIRY = { defaultSeconds: 7 * 24 * 3600, minSeconds: 60, maxSeconds: 30 * 24 * 3600 };
/** Live (unexpired, unrevoked) links a project may have at once. */
export const MAX_LIVE_LINKS_PER_PROJECT = 20;

interface LinkRow {
  id: string;
  prefix: string;
  created_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
}

const LINK_COLUMNS = "id, prefix, created_at, expires_at, revoked_at";

function toShareLink(row: LinkRow, projectId: string): ShareLink {
  return {
    id: row.id,
    projectId,
    prefix: row.prefix,
    createdAt: row.created_at.toISOString(),
    expiresAt: row.expires_at.toISOString(),
    revokedAt: row.revoked_at?.toISOString() ?? null,
  };
}

/** The expiry a request names, in seconds: an integer within SHARE_EXPIRY's bounds, or the default. */
export function expirySeconds(value: unknown): number {
  if (value === undefined || value === null) return SHARE_EXPIRY.defaultSeconds;
  const { minSeconds, maxSeconds } = SHARE_EXPIRY;
  if (typeof value !== "number" || !Number.isInteger(value) || value < minSeconds || value > maxSeconds) {
    throw invalidArgument("expiresInSeconds", `must be a whole number of seconds from ${minSeconds} to ${maxSeconds} (30 days)`);
  }
  return value;
}

/** Creates a link to `projectId`'s preview, storing only its hash; refused once the project has its maximum of live links. */
export async function createShareLink(db: pg.Pool, projectId: string, seconds: number, now: Date): Promise<Omit<CreatedShareLink, "url">> {
  const live = await db.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM share_links WHERE project_id = $1 AND revoked_at IS NULL AND expires_at > $2",
    [projectId, now],
  );
  if (live.rows[0]!.n >= MAX_LIVE_LINKS_PER_PROJECT) {
    throw new AppError("resource_exhausted", `project ${projectId} already has ${MAX_LIVE_LINKS_PER_PROJECT} live share links: revoke one first`);
  }
  const token = `ks_${randomBytes(32).toString("base64url")}`;
  const result = await db.query<LinkRow>(
    `INSERT INTO share_links (id, project_id, token_hash, prefix, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${LINK_COLUMNS}`,
    [newId("shr"), projectId, hashToken(token), token.slice(0, DISPLAY_PREFIX_LENGTH), now, new Date(now.getTime() + seconds * 1000)],
  );
  return { token, path: `/s/${token}/`, link: toShareLink(result.rows[0]!, projectId) };
}

/** A project's links, newest first: never their tokens or hashes. */
export async function listShareLinks(db: pg.Pool, projectId: string): Promise<ShareLink[]> {
  const result = await db.query<LinkRow>(`SELECT ${LINK_COLUMNS} FROM share_links WHERE project_id = $1 ORDER BY created_at DESC, id DESC`, [projectId]);
  return result.rows.map((row) => toShareLink(row, projectId));
}

/** Revokes one of a project's links (another project's is `not_found`); revoking twice keeps the first time. */
export async function revokeShareLink(db: pg.Pool, projectId: string, linkId: string): Promise<ShareLink> {
  const result = await db.query<LinkRow>(
    `UPDATE share_links SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1 AND project_id = $2 RETURNING ${LINK_COLUMNS}`,
    [linkId, projectId],
  );
  if (!result.rows[0]) throw notFound("share link", linkId);
  return toShareLink(result.rows[0], projectId);
}

/** What a valid token opens: its link and the project's workspace. */
export interface ResolvedLink {
  linkId: string;
  projectId: string;
  workspaceId: string | null;
  expiresAt: Date;
}

/** The link a token names, when it is well formed, known, unexpired, unrevoked and its project not deleted; otherwise null. */
export async function resolveShareToken(db: pg.Pool, token: string, now: Date): Promise<ResolvedLink | null> {
  if (!TOKEN_PATTERN.test(token)) return null;
  const result = await db.query<{ id: string; project_id: string; workspace_id: string | null; expires_at: Date }>(
    `SELECT s.id, s.project_id, p.workspace_id, s.expires_at FROM share_links s JOIN projects p ON p.id = s.project_id
      WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2 AND p.deleted_at IS NULL`,
    [hashToken(token), now],
  );
  const row = result.rows[0];
  return row ? { linkId: row.id, projectId: row.project_id, workspaceId: row.workspace_id, expiresAt: row.expires_at } : null;
}
