import type pg from "pg";
import { decodeCursor, encodeCursor } from "../lib/cursor";
import { AppError, hasCode, toErrorBody } from "../lib/errors";
import { postgresCheck, serviceCheck, summarize } from "../lib/health";
import { newId } from "../lib/ids";
import type { Logger } from "../lib/log";
import type { AuthData } from "../lib/routes";
import { pageLimit, requireText } from "../lib/validate";
import type { ProjectsApi } from "../projects/contract";
import type { VfsApi } from "../vfs/contract";
import type { WorkspaceApi } from "../workspace/contract";
import { createApprovalMethods } from "./approvals/service";
import { createApprovalStore } from "./approvals/store";
import type { AiApi, EmitEvent, Generation } from "./contract";
import type { LiveEvents } from "./jobs/live";
import type { ProjectState } from "./jobs/project-state";
import { estimateCost } from "./jobs/pricing";
import { createJobStore, type JobRecord } from "./jobs/store";
import { resumePoint, streamJobEvents } from "./jobs/stream";

/** What the ai service needs from its host; other services only through their contracts. */
export interface AiDeps {
  db: pg.Pool;
  projects: Pick<ProjectsApi, "get">;
  workspace: Pick<WorkspaceApi, "health">;
  vfs: Pick<VfsApi, "health">;
  /** The owner of what generations say about their project (told after a job is queued or cancelled here). */
  projectState: Pick<ProjectState, "settle">;
  /** Wakes this process's event streams when an event is appended. */
  live: LiveEvents;
  /** Tells the runner a job was queued (it also polls). */
  wakeRunner: () => void;
  /** Tells this process's runner to stop a job now (runners elsewhere see the request at their heartbeat). */
  cancelRunning: (jobId: string) => void;
  /** The model, for cost estimates. */
  model: string;
  /** Heartbeat comment interval of event streams. */
  sseHeartbeatMs: number;
  log: Logger;
}

const PROMPT = { min: 1, max: 20_000 };

/** The ai service, framework-free. */
export function createAiService(deps: AiDeps): AiApi {
  const store = createJobStore(deps.db);

  /** A generation as the API shows it; a completed one's preview is its project's (the one owner of preview URLs). */
  const toGeneration = (job: JobRecord, projectPreviewUrl: string | null = null): Generation => ({
    id: job.id,
    projectId: job.projectId,
    prompt: job.prompt,
    status: job.status,
    step: job.step,
    progress: job.progress,
    error: job.error,
    errorKind: job.errorKind,
    summary: job.summary,
    previewUrl: job.status === "completed" ? projectPreviewUrl : null,
    workspaceId: job.workspaceId,
    attempt: job.attempt,
    usage: job.usage,
    estimatedCostUsd: estimateCost(deps.model, job.usage),
    toolCalls: job.toolCalls,
    createdAt: job.createdAt.toISOString(),
    startedAt: job.startedAt?.toISOString() ?? null,
    finishedAt: job.finishedAt?.toISOString() ?? null,
    links: { events: `/generations/${job.id}/events` },
  });

  /** The project's preview; null when the project is gone (its generations stay readable). */
  const previewOf = async (projectId: string, auth: AuthData): Promise<string | null> => {
    try {
      return (await deps.projects.get({ id: projectId }, auth)).previewUrl;
    } catch (err) {
      if (hasCode(err, "not_found")) return null;
      throw err;
    }
  };

  const appendAndNotify: (jobId: string, ...event: Parameters<EmitEvent>) => Promise<void> = async (jobId, type, data) => {
    await store.appendEvent(jobId, type, data);
    deps.live.notify(jobId);
  };

  return {
    ...createApprovalMethods({ jobs: store, approvals: createApprovalStore(deps.db), emit: appendAndNotify }),

    async health() {
      const checks = await Promise.all([
        postgresCheck(deps.db),
        serviceCheck("workspace", () => deps.workspace.health()),
        serviceCheck("vfs", () => deps.vfs.health()),
      ]);
      return summarize("ai", checks);
    },

    async start(req, auth) {
      const projectId = requireText("projectId", req.projectId, { min: 1, max: 100 });
      const prompt = requireText("prompt", req.prompt, PROMPT);
      await deps.projects.get({ id: projectId }, auth);
      const job = await store.insert({ id: newId("job"), projectId, ownerId: auth.userID, prompt });
      await appendAndNotify(job.id, "queued", { status: "queued", step: "queued", progress: 0 });
      await deps.projectState.settle(projectId);
      deps.wakeRunner();
      deps.log.info("generation queued", { jobId: job.id, projectId });
      return toGeneration(job);
    },

    async get(req, auth) {
      const job = await store.getOwned(requireText("id", req.id, { min: 1, max: 100 }), auth.userID);
      return toGeneration(job, job.status === "completed" ? await previewOf(job.projectId, auth) : null);
    },

    async list(req, auth) {
      const projectId = requireText("projectId", req.projectId, { min: 1, max: 100 });
      const limit = pageLimit("limit", req.limit, 20, 100);
      const project = await deps.projects.get({ id: projectId }, auth);
      const rows = await store.list(projectId, auth.userID, limit + 1, decodeCursor(req.cursor));
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      return { generations: page.map((job) => toGeneration(job, project.previewUrl)), nextCursor: rows.length > limit && last ? encodeCursor(last.createdAt, last.id) : null };
    },

    async cancel(req, auth) {
      const job = await store.getOwned(requireText("id", req.id, { min: 1, max: 100 }), auth.userID);
      if (job.status === "queued") {
        const cancelled = await store.cancelQueued(job.id, "cancelled by the user before it started");
        if (cancelled) {
          deps.live.notify(job.id);
          await deps.projectState.settle(job.projectId);
          return toGeneration(cancelled);
        }
      }
      const running = await store.requestCancel(job.id);
      if (running) {
        deps.cancelRunning(job.id);
        return toGeneration(running);
      }
      const now = await store.getOwned(job.id, auth.userID);
      throw new AppError("failed_precondition", `generation ${job.id} already ${now.status}; only a queued or running generation can be cancelled`);
    },

    async events(req, res, params, auth) {
      try {
        if (!auth) throw new AppError("unauthenticated", "missing Authorization header (expected: Bearer <token>)");
        const afterSeq = resumePoint(req);
        const job = await store.getOwned(requireText("id", params.id, { min: 1, max: 100 }), auth.userID);
        await streamJobEvents(req, res, { store, live: deps.live, jobId: job.id, afterSeq, heartbeatMs: deps.sseHeartbeatMs });
      } catch (err) {
        if (res.headersSent) {
          deps.log.warn("event stream ended with an error", { reason: err instanceof Error ? err.message : String(err) });
          res.end();
          return;
        }
        const { status, body } = toErrorBody(err);
        res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
      }
    },
  };
}
