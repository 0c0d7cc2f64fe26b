import type pg from "pg";
import { AppError, invalidArgument, notFound } from "../lib/errors";
import { postgresCheck, summarize } from "../lib/health";
import { newId } from "../lib/ids";
import type { Logger } from "../lib/log";
import type { AuthData } from "../lib/routes";
import { optionalBoolean, optionalText, pageLimit, requireText } from "../lib/validate";
import type { ConversationMessage, Project, ProjectsApi, TokenInfo } from "./contract";
import { issueToken } from "./tokens";

/** What the projects service needs from its host. */
export interface ProjectsDeps {
  db: pg.Pool;
  log: Logger;
}

const NAME = { min: 1, max: 100 };
const DESCRIPTION_MAX = 2000;
const MESSAGE_MAX = 200_000;

interface ProjectRow {
  id: string;
  name: string;
  description: string;
  status: string;
  workspace_id: string | null;
  preview_url: string | null;
  latest_job_id: string | null;
  created_at: Date;
  updated_at: Date;
}

const PROJECT_COLUMNS = "id, name, description, status, workspace_id, preview_url, latest_job_id, created_at, updated_at";

function toProject(row: ProjectRow): Project {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    status: row.status,
    workspaceId: row.workspace_id,
    previewUrl: row.preview_url,
    latestJobId: row.latest_job_id,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

interface TokenRow {
  id: string;
  name: string;
  prefix: string;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

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

/** A page position: the created time and id of the last project of the previous page. */
function encodeCursor(row: ProjectRow): string {
  return Buffer.from(JSON.stringify([row.created_at.toISOString(), row.id])).toString("base64url");
}

function decodeCursor(cursor: string): [string, string] {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as unknown[];
    if (typeof createdAt === "string" && typeof id === "string" && !Number.isNaN(Date.parse(createdAt))) return [createdAt, id];
  } catch {
    // falls through to the error below
  }
  throw invalidArgument("cursor", "is not a cursor returned by this API");
}

function requireId(field: string, value: unknown): string {
  return requireText(field, value, { min: 1, max: 100 });
}

/** The projects service, framework-free: every project query is scoped to its owner. */
export function createProjectsService(deps: ProjectsDeps): ProjectsApi {
  const { db } = deps;

  async function owned(id: unknown, auth: AuthData): Promise<ProjectRow> {
    const projectId = requireId("id", id);
    const result = await db.query<ProjectRow>(
      `SELECT ${PROJECT_COLUMNS} FROM projects WHERE id = $1 AND owner_id = $2 AND deleted_at IS NULL`,
      [projectId, auth.userID],
    );
    if (!result.rows[0]) throw notFound("project", projectId);
    return result.rows[0];
  }

  return {
    async health() {
      return summarize("projects", [await postgresCheck(db)]);
    },

    async create(req, auth) {
      const name = requireText("name", req.name, NAME);
      const description = optionalText("description", req.description, DESCRIPTION_MAX) ?? "";
      const result = await db.query<ProjectRow>(
        `INSERT INTO projects (id, owner_id, name, description) VALUES ($1, $2, $3, $4) RETURNING ${PROJECT_COLUMNS}`,
        [newId("prj"), auth.userID, name, description],
      );
      return toProject(result.rows[0]!);
    },

    async list(req, auth) {
      const limit = pageLimit("limit", req.limit, 20, 100);
      const after = req.cursor === undefined ? null : decodeCursor(requireText("cursor", req.cursor, { min: 1, max: 500 }));
      const result = await db.query<ProjectRow>(
        `SELECT ${PROJECT_COLUMNS} FROM projects
          WHERE owner_id = $1 AND deleted_at IS NULL
            AND ($2::timestamptz IS NULL OR (created_at, id) < ($2::timestamptz, $3::text))
          ORDER BY created_at DESC, id DESC LIMIT $4`,
        [auth.userID, after?.[0] ?? null, after?.[1] ?? null, limit + 1],
      );
      const page = result.rows.slice(0, limit);
      const more = result.rows.length > limit;
      return { projects: page.map(toProject), nextCursor: more ? encodeCursor(page[page.length - 1]!) : null };
    },

    async get(req, auth) {
      return toProject(await owned(req.id, auth));
    },

    async update(req, auth) {
      const project = await owned(req.id, auth);
      const name = req.name === undefined ? undefined : requireText("name", req.name, NAME);
      const description = optionalText("description", req.description, DESCRIPTION_MAX);
      const result = await db.query<ProjectRow>(
        `UPDATE projects SET name = COALESCE($2, name), description = COALESCE($3, description), updated_at = now()
          WHERE id = $1 RETURNING ${PROJECT_COLUMNS}`,
        [project.id, name ?? null, description ?? null],
      );
      return toProject(result.rows[0]!);
    },

    async del(req, auth) {
      const project = await owned(req.id, auth);
      if (optionalBoolean("purge", req.purge)) {
        throw new AppError("unimplemented", "purging a project's files needs the vfs service, which is not built yet; delete without purge");
      }
      await db.query("UPDATE projects SET deleted_at = now(), status = 'deleted', updated_at = now() WHERE id = $1", [project.id]);
      deps.log.info("project deleted", { projectId: project.id, ownerId: auth.userID });
    },

    async conversation(req, auth) {
      const project = await owned(req.id, auth);
      const result = await db.query<{ seq: number; role: "user" | "assistant"; content: string; job_id: string | null; created_at: Date }>(
        "SELECT seq, role, content, job_id, created_at FROM conversation_messages WHERE project_id = $1 ORDER BY seq",
        [project.id],
      );
      return {
        messages: result.rows.map((r) => ({ seq: r.seq, role: r.role, content: r.content, jobId: r.job_id, createdAt: r.created_at.toISOString() })),
      };
    },

    async appendMessage(req) {
      const projectId = requireId("id", req.id);
      if (req.role !== "user" && req.role !== "assistant") throw invalidArgument("role", 'must be "user" or "assistant"');
      const content = requireText("content", req.content, { min: 1, max: MESSAGE_MAX });
      const jobId = req.jobId === undefined ? null : requireId("jobId", req.jobId);
      const exists = await db.query("SELECT 1 FROM projects WHERE id = $1 AND deleted_at IS NULL", [projectId]);
      if (exists.rowCount === 0) throw notFound("project", projectId);
      // The primary key (project_id, seq) makes concurrent appends safe: a loser retries with the next seq.
      for (let attempt = 0; ; attempt++) {
        try {
          const result = await db.query<{ seq: number; created_at: Date }>(
            `INSERT INTO conversation_messages (project_id, seq, role, content, job_id)
             SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3, $4 FROM conversation_messages WHERE project_id = $1
             RETURNING seq, created_at`,
            [projectId, req.role, content, jobId],
          );
          const row = result.rows[0]!;
          const message: ConversationMessage = { seq: row.seq, role: req.role, content, jobId, createdAt: row.created_at.toISOString() };
          return message;
        } catch (err) {
          if ((err as { code?: string }).code !== "23505" || attempt >= 5) throw err;
        }
      }
    },

    async recordActivity(req) {
      const projectId = requireId("id", req.id);
      const status = optionalText("status", req.status, 40);
      const workspaceId = req.workspaceId === undefined ? undefined : requireId("workspaceId", req.workspaceId);
      const latestJobId = req.latestJobId === undefined ? undefined : requireId("latestJobId", req.latestJobId);
      const previewUrl = req.previewUrl === undefined ? undefined : req.previewUrl === null ? null : requireText("previewUrl", req.previewUrl, { min: 1, max: 2000 });
      const result = await db.query<ProjectRow>(
        `UPDATE projects SET
            status = COALESCE($2, status),
            workspace_id = COALESCE($3, workspace_id),
            preview_url = CASE WHEN $4::boolean THEN $5 ELSE preview_url END,
            latest_job_id = COALESCE($6, latest_job_id),
            updated_at = now()
          WHERE id = $1 AND deleted_at IS NULL RETURNING ${PROJECT_COLUMNS}`,
        [projectId, status ?? null, workspaceId ?? null, previewUrl !== undefined, previewUrl ?? null, latestJobId ?? null],
      );
      if (!result.rows[0]) throw notFound("project", projectId);
      return toProject(result.rows[0]);
    },

    async createToken(req, auth) {
      const name = requireText("name", req.name, NAME);
      const issued = await issueToken(db, auth.userID, name);
      const row = await db.query<TokenRow>("SELECT id, name, prefix, created_at, last_used_at, revoked_at FROM api_tokens WHERE id = $1", [issued.id]);
      return { token: issued.token, info: toTokenInfo(row.rows[0]!) };
    },

    async listTokens(_req, auth) {
      const result = await db.query<TokenRow>(
        "SELECT id, name, prefix, created_at, last_used_at, revoked_at FROM api_tokens WHERE user_id = $1 ORDER BY created_at DESC, id DESC",
        [auth.userID],
      );
      return { tokens: result.rows.map(toTokenInfo) };
    },

    async revokeToken(req, auth) {
      const id = requireId("id", req.id);
      const result = await db.query<TokenRow>(
        `UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1 AND user_id = $2
         RETURNING id, name, prefix, created_at, last_used_at, revoked_at`,
        [id, auth.userID],
      );
      if (!result.rows[0]) throw notFound("token", id);
      return toTokenInfo(result.rows[0]);
    },
  };
}
