import type pg from "pg";
import { CURSOR_KEY, decodeCursor, encodeCursor } from "../lib/cursor";
import { AppError, invalidArgument, notFound } from "../lib/errors";
import { postgresCheck, summarize } from "../lib/health";
import { newId } from "../lib/ids";
import type { Logger } from "../lib/log";
import type { AuthData } from "../lib/routes";
import { TemplateCatalog } from "../lib/templates";
import { storable } from "../lib/unicode";
import { optionalBoolean, optionalText, pageLimit, requireText } from "../lib/validate";
import type { VfsApi } from "../vfs/contract";
import type { WorkspaceApi } from "../workspace/contract";
import { APPROVAL_MODES, type ApprovalMode, type ConversationMessage, type Project, type ProjectsApi } from "./contract";
import { cleanLogs, LOG_TAIL_BYTES } from "./logs";
import { nameFromPrompt } from "./name";
import { createShareMethods, type ShareMethods } from "./share/service";
import { createTerminalMethods } from "./terminals";
import { serveThumbnail } from "./thumbnail";
import { createToken, listTokens, revokeToken } from "./tokens";

/** What the projects service needs from its host. */
export interface ProjectsDeps {
  db: pg.Pool;
  /** Deleting a project deletes its sandbox; its preview link comes from it; a share link's visit wakes it (or re-creates it). */
  workspace: Pick<WorkspaceApi, "del" | "preview" | "revokePreviewLinks" | "get" | "start" | "create" | "readFiles" | "ensureDevServer" | "devServerLogs" | "openTerminal" | "listTerminals">;
  /** Deleting with `purge` removes its files from the vfs, which also keeps the thumbnails; a re-created sandbox is restored from it. */
  vfs: Pick<VfsApi, "purgeProject" | "thumbnail" | "restoreWorkspace">;
  log: Logger;
  /** The templates projects start from (the repository's by default). */
  templates?: TemplateCatalog;
  /** The share listener's public origin, when it runs (share links get a host of their own under it). */
  shareOrigin?: string;
}

const NAME = { min: 1, max: 100 };
const DESCRIPTION_MAX = 2000;
const MESSAGE_MAX = 200_000;

interface ProjectRow {
  id: string;
  name: string;
  description: string;
  status: string;
  template: string;
  workspace_id: string | null;
  preview_url: string | null;
  thumbnail_sha256: string | null;
  latest_job_id: string | null;
  approval_mode: ApprovalMode;
  created_at: Date;
  updated_at: Date;
}

const PROJECT_COLUMNS = "id, name, description, status, template, workspace_id, preview_url, thumbnail_sha256, latest_job_id, approval_mode, created_at, updated_at";

function toProject(row: ProjectRow): Project {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    status: row.status,
    template: row.template,
    workspaceId: row.workspace_id,
    previewUrl: row.preview_url,
    thumbnailUrl: row.thumbnail_sha256 ? `/projects/${encodeURIComponent(row.id)}/thumbnail?v=${row.thumbnail_sha256.slice(0, 16)}` : null,
    latestJobId: row.latest_job_id,
    approvalMode: row.approval_mode,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

function requireId(field: string, value: unknown): string {
  return requireText(field, value, { min: 1, max: 100 });
}

/** The projects service as built: its contract, and the share gateway's WebSocket upgrade. */
export type ProjectsService = ProjectsApi & Pick<ShareMethods, "upgradeShare" | "shareListener">;

/** The projects service, framework-free: every project query is scoped to its owner. */
export function createProjectsService(deps: ProjectsDeps): ProjectsService {
  const { db } = deps;
  const templates = deps.templates ?? TemplateCatalog.shared();

  async function owned(id: unknown, auth: AuthData): Promise<ProjectRow> {
    const projectId = requireId("id", id);
    const result = await db.query<ProjectRow>(
      `SELECT ${PROJECT_COLUMNS} FROM projects WHERE id = $1 AND owner_id = $2 AND deleted_at IS NULL`,
      [projectId, auth.userID],
    );
    if (!result.rows[0]) throw notFound("project", projectId);
    return result.rows[0];
  }

  const share = createShareMethods({ db, workspace: deps.workspace, vfs: deps.vfs, templates, log: deps.log, shareOrigin: deps.shareOrigin, owned: async (id, auth) => (await owned(id, auth)).id });

  return {
    ...share,
    ...createTerminalMethods({ workspace: deps.workspace, owned }),

    async health() {
      return summarize("projects", [await postgresCheck(db)]);
    },

    async create(req, auth) {
      const description = optionalText("description", req.description, DESCRIPTION_MAX) ?? "";
      const blank = req.name === undefined || (typeof req.name === "string" && req.name.trim() === "");
      if (blank && !description) throw invalidArgument("name", "is required when there is no description to derive it from");
      const name = blank ? nameFromPrompt(description) : requireText("name", req.name, NAME);
      const template = templates.resolve("template", req.template).manifest.name;
      const result = await db.query<ProjectRow>(
        `INSERT INTO projects (id, owner_id, name, description, template) VALUES ($1, $2, $3, $4, $5) RETURNING ${PROJECT_COLUMNS}`,
        [newId("prj"), auth.userID, name, description, template],
      );
      return toProject(result.rows[0]!);
    },

    async list(req, auth) {
      const limit = pageLimit("limit", req.limit, 20, 100);
      const after = decodeCursor(req.cursor);
      const result = await db.query<ProjectRow>(
        `SELECT ${PROJECT_COLUMNS} FROM projects
          WHERE owner_id = $1 AND deleted_at IS NULL
            AND ($2::timestamptz IS NULL OR (${CURSOR_KEY}, id) < ($2::timestamptz, $3::text))
          ORDER BY ${CURSOR_KEY} DESC, id DESC LIMIT $4`,
        [auth.userID, after?.[0] ?? null, after?.[1] ?? null, limit + 1],
      );
      const page = result.rows.slice(0, limit);
      const more = result.rows.length > limit;
      return { projects: page.map(toProject), nextCursor: more ? encodeCursor(page[page.length - 1]!.created_at, page[page.length - 1]!.id) : null };
    },

    async get(req, auth) {
      return toProject(await owned(req.id, auth));
    },

    async update(req, auth) {
      const project = await owned(req.id, auth);
      const name = req.name === undefined ? undefined : requireText("name", req.name, NAME);
      const description = optionalText("description", req.description, DESCRIPTION_MAX);
      if (req.approvalMode !== undefined && !APPROVAL_MODES.includes(req.approvalMode)) throw invalidArgument("approvalMode", `must be one of ${APPROVAL_MODES.join(", ")}`);
      const result = await db.query<ProjectRow>(
        `UPDATE projects SET name = COALESCE($2, name), description = COALESCE($3, description), approval_mode = COALESCE($4, approval_mode), updated_at = now()
          WHERE id = $1 RETURNING ${PROJECT_COLUMNS}`,
        [project.id, name ?? null, description ?? null, req.approvalMode ?? null],
      );
      return toProject(result.rows[0]!);
    },

    async del(req, auth) {
      const project = await owned(req.id, auth);
      const purge = optionalBoolean("purge", req.purge) ?? false;
      // Sandbox and files go first, so a failure leaves the project visible and the delete can be retried.
      if (project.workspace_id) {
        await deps.workspace.del({ id: project.workspace_id }).catch((err: unknown) => {
          if ((err as { code?: string }).code !== "not_found") throw err;
        });
      }
      if (purge) await deps.vfs.purgeProject({ projectId: project.id });
      await db.query("UPDATE projects SET deleted_at = now(), status = 'deleted', updated_at = now() WHERE id = $1", [project.id]);
      deps.log.info("project deleted", { projectId: project.id, ownerId: auth.userID, purge });
    },

    async preview(req, auth) {
      const project = await owned(req.id, auth);
      if (!project.workspace_id || !project.preview_url) throw new AppError("failed_precondition", `project ${project.id} has no preview yet: a generation makes one`);
      // Only the link and its expiry: never a token (a provider's standard one may open more than the preview).
      const { url, expiresAt } = await deps.workspace.preview({ id: project.workspace_id });
      return { url, expiresAt };
    },

    async logs(req, auth) {
      const project = await owned(req.id, auth);
      const tailBytes = pageLimit("tailBytes", req.tailBytes, LOG_TAIL_BYTES.fallback, LOG_TAIL_BYTES.max);
      if (!project.workspace_id) return { output: "", truncated: false, running: false, exitCode: null, command: null, workspaceStatus: "none" };
      return cleanLogs(await deps.workspace.devServerLogs({ id: project.workspace_id, tailBytes }), tailBytes);
    },

    thumbnail: (req, res, params, auth) => serveThumbnail(deps.vfs, req, res, params, auth),

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
      // A model's reply may hold what Postgres cannot store (the wire refuses it from outside).
      const content = storable(requireText("content", req.content, { min: 1, max: MESSAGE_MAX }));
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
      const thumbnail = req.thumbnailSha256 === undefined ? undefined : requireText("thumbnailSha256", req.thumbnailSha256, { min: 64, max: 64 });
      if (thumbnail !== undefined && !/^[0-9a-f]{64}$/.test(thumbnail)) throw invalidArgument("thumbnailSha256", "must be a sha256 in lower-case hex");
      const version = req.statusVersion ?? null;
      if (version !== null && (!Number.isSafeInteger(version) || version < 1)) throw invalidArgument("statusVersion", "must be a positive whole number");
      // A status older than the recorded one (a late retry of the ai service's) leaves status and latest job as they are.
      const result = await db.query<ProjectRow>(
        `UPDATE projects SET
            status = CASE WHEN $8::bigint IS NULL OR $8::bigint > status_version THEN COALESCE($2, status) ELSE status END,
            workspace_id = COALESCE($3, workspace_id),
            preview_url = CASE WHEN $4::boolean THEN $5 ELSE preview_url END,
            latest_job_id = CASE WHEN $8::bigint IS NULL OR $8::bigint > status_version THEN COALESCE($6, latest_job_id) ELSE latest_job_id END,
            thumbnail_sha256 = COALESCE($7, thumbnail_sha256),
            status_version = GREATEST(status_version, COALESCE($8::bigint, 0)),
            updated_at = now()
          WHERE id = $1 AND deleted_at IS NULL RETURNING ${PROJECT_COLUMNS}`,
        [projectId, status ?? null, workspaceId ?? null, previewUrl !== undefined, previewUrl ?? null, latestJobId ?? null, thumbnail ?? null, version],
      );
      if (!result.rows[0]) throw notFound("project", projectId);
      return toProject(result.rows[0]);
    },

    async createToken(req, auth) {
      return createToken(db, auth.userID, requireText("name", req.name, NAME));
    },

    async listTokens(_req, auth) {
      return { tokens: await listTokens(db, auth.userID) };
    },

    async revokeToken(req, auth) {
      return revokeToken(db, auth.userID, requireId("id", req.id));
    },

    async templates() {
      const list = templates.all().map(({ manifest }) => ({
        name: manifest.name,
        title: manifest.title,
        description: manifest.description,
        stack: manifest.stack,
        examples: manifest.examples,
      }));
      return { templates: list, defaultTemplate: templates.defaultName };
    },
  };
}
