import type Anthropic from "@anthropic-ai/sdk";
import type pg from "pg";
import { CURSOR_KEY } from "../../lib/cursor";
import { AppError, notFound } from "../../lib/errors";
import { storable } from "../../lib/unicode";
import type { FailureKind, GenerationEvent, GenerationEventData, GenerationEventType, GenerationOutcomeData } from "../contract";

/** Where a job is in its life. */
export type JobStatus = "queued" | "running" | "completed" | "failed" | "cancelled";

/** The steps of a generation, in order. */
export const JOB_STEPS = ["queued", "preparing_workspace", "waiting_for_workspace", "generating", "waiting_for_approval", "completing", "done"] as const;

/** One step of a generation. */
export type JobStep = (typeof JOB_STEPS)[number];

/** A job as stored. */
export interface JobRecord {
  id: string;
  projectId: string;
  ownerId: string;
  prompt: string;
  status: JobStatus;
  step: JobStep;
  progress: number;
  attempt: number;
  cancelRequested: boolean;
  error: string | null;
  /** The kind of a failure the server recognized (its configuration), else null. */
  errorKind: FailureKind | null;
  summary: string | null;
  workspaceId: string | null;
  usage: { inputTokens: number; outputTokens: number; cacheReadTokens: number; cacheWriteTokens: number };
  toolCalls: number;
  /** Time spent with the agent running, over every attempt until this one was claimed. */
  agentMs: number;
  /** The background processes its agent started, in order. */
  processes: BackgroundProcess[];
  lastSeq: number;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

/** A long-running process a job's agent started in its workspace (what a resumed job starts again). */
export interface BackgroundProcess {
  /** Its name in the workspace (unique per job). */
  name: string;
  command: string;
  cwd: string | null;
  /** The workspace's id of its latest start. */
  processId: string;
}

/** One recorded event of a job: the contract's event union (the store writes no other type). */
export type JobEvent = GenerationEvent;

/** A stored row as the union: every row was written by appendEvent or saveTurn, with the data of its type. */
function storedEvent(seq: number, type: string, data: unknown, at: Date): JobEvent {
  return { seq, type, data, at: at.toISOString() } as JobEvent;
}

/** How the agent of a job ended, kept so a job resumed while completing only finishes. */
export interface TranscriptOutcome {
  end: string;
  summary: string;
  /** The preview of the check that passed, if one did. */
  previewUrl: string | null;
}

/** A job's conversation as sent to the model, saved at every turn and every tool result. */
export interface Transcript {
  /** A hash of the system prompt the messages were sent with. */
  systemVersion: string;
  /** Model turns taken so far, over every attempt of the job. */
  turns: number;
  messages: Anthropic.MessageParam[];
  /** Sweeps that replaced older tool outputs by a note of their size. */
  compactions: number;
  outcome: TranscriptOutcome | null;
}

interface JobRow {
  id: string;
  project_id: string;
  owner_id: string;
  prompt: string;
  status: JobStatus;
  step: JobStep;
  progress: number;
  attempt: number;
  cancel_requested: boolean;
  error: string | null;
  error_kind: FailureKind | null;
  summary: string | null;
  workspace_id: string | null;
  input_tokens: string;
  output_tokens: string;
  cache_read_tokens: string;
  cache_write_tokens: string;
  tool_calls: number;
  agent_ms: string;
  processes: BackgroundProcess[];
  last_seq: number;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

function toRecord(row: JobRow): JobRecord {
  return {
    id: row.id,
    projectId: row.project_id,
    ownerId: row.owner_id,
    prompt: row.prompt,
    status: row.status,
    step: row.step,
    progress: row.progress,
    attempt: row.attempt,
    cancelRequested: row.cancel_requested,
    error: row.error,
    errorKind: row.error_kind,
    summary: row.summary,
    workspaceId: row.workspace_id,
    usage: {
      inputTokens: Number(row.input_tokens),
      outputTokens: Number(row.output_tokens),
      cacheReadTokens: Number(row.cache_read_tokens),
      cacheWriteTokens: Number(row.cache_write_tokens),
    },
    toolCalls: row.tool_calls,
    agentMs: Number(row.agent_ms),
    processes: row.processes,
    lastSeq: row.last_seq,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}

const ACTIVE = "status IN ('queued', 'running')";

/** The next version of a project's state (see ai/migrations/5_project_state.up.sql). */
const NEXT_VERSION = "nextval('generation_state_versions')";

/**
 * Closes the pending approvals of the job a statement's `done` CTE just ended, in that statement: a job
 * that ended by any path (failed, cancelled, completed) leaves none to answer. They end as cancelled,
 * the reason saying how the job ended.
 */
const CLOSE_APPROVALS = `UPDATE generation_approvals a SET status = 'cancelled', reason = 'the generation ended (' || done.status || ') before this was answered', answered_at = now()
   FROM done WHERE a.job_id = done.id AND a.status = 'pending'`;

/** A `JSON.stringify` replacer: every string as Postgres `jsonb` can hold it (see {@link storable}). */
export function jsonbSafe(_key: string, value: unknown): unknown {
  return typeof value === "string" ? storable(value) : value;
}

/** One event of a turn, as `saveTurn` stores it. */
export type TurnEvent = { [K in GenerationEventType]: { type: K; data: GenerationEventData[K] } }[GenerationEventType];

/**
 * A turn's save (`saveTurn`): $1 job, $2 runner, $3 how many events, $4 their `{type, data}` as a JSON
 * array, $5–$9 the tokens and tool calls they add to the job's counts, $10 whether a conversation is
 * saved, $11–$15 its fields. Every part runs once whatever reads it, and none stores anything when the
 * runner no longer holds the job (`held` is empty).
 */
const SAVE_TURN = `WITH held AS (
    UPDATE generation_jobs SET last_seq = last_seq + $3, input_tokens = input_tokens + $5, output_tokens = output_tokens + $6,
           cache_read_tokens = cache_read_tokens + $7, cache_write_tokens = cache_write_tokens + $8, tool_calls = tool_calls + $9, updated_at = now()
     WHERE id = $1 AND lease_owner = $2 AND status = 'running' RETURNING last_seq - $3 + 1 AS first_seq
  ), stored AS (
    INSERT INTO generation_events (job_id, seq, type, data)
    SELECT $1, held.first_seq + e.ordinality - 1, e.value->>'type', e.value->'data' FROM held, jsonb_array_elements($4::jsonb) WITH ORDINALITY e
  ), saved AS (
    INSERT INTO generation_transcripts (job_id, system_version, turns, messages, compactions, outcome)
    SELECT $1, $11::text, $12::integer, $13::jsonb, $14::integer, $15::jsonb FROM held WHERE $10::boolean
    ON CONFLICT (job_id) DO UPDATE SET system_version = EXCLUDED.system_version, turns = EXCLUDED.turns, messages = EXCLUDED.messages,
           compactions = EXCLUDED.compactions, outcome = EXCLUDED.outcome, updated_at = now()
  )
  SELECT first_seq, now() AS at FROM held`;

/** What a turn's events add to the job's counts: the tokens of its responses, its finished tool calls. */
function turnCounts(events: TurnEvent[]): number[] {
  const counts = [0, 0, 0, 0, 0];
  for (const event of events) {
    if (event.type === "usage") {
      counts[0]! += event.data.inputTokens;
      counts[1]! += event.data.outputTokens;
      counts[2]! += event.data.cacheReadTokens;
      counts[3]! += event.data.cacheWriteTokens;
    } else if (event.type === "tool_finished") counts[4]!++;
  }
  return counts;
}

const transcriptParams = (transcript: Transcript) => [
  transcript.systemVersion,
  transcript.turns,
  JSON.stringify(transcript.messages, jsonbSafe),
  transcript.compactions,
  transcript.outcome ? JSON.stringify(transcript.outcome, jsonbSafe) : null,
];

/** Jobs and their event logs in Postgres: every state change is one conditional statement. */
export function createJobStore(db: pg.Pool) {
  const one = async (sql: string, params: unknown[]): Promise<JobRecord | null> => {
    const result = await db.query<JobRow>(sql, params);
    return result.rows[0] ? toRecord(result.rows[0]) : null;
  };

  const oneTranscript = async (sql: string, params: unknown[]): Promise<Transcript | null> => {
    const result = await db.query<{ system_version: string; turns: number; messages: Anthropic.MessageParam[]; compactions: number; outcome: TranscriptOutcome | null }>(sql, params);
    const row = result.rows[0];
    return row ? { systemVersion: row.system_version, turns: row.turns, messages: row.messages, compactions: row.compactions, outcome: row.outcome } : null;
  };

  /**
   * Appends events of a held job, adds what they count (tokens, tool calls) to the job's totals and,
   * with them, saves its conversation (replacing the previous save) in one statement, one round trip: a failure or a crash stores neither, so no event is left
   * without the turn of the conversation it belongs to. Null (nothing stored) when `workerId` no longer
   * holds the job, so a runner that lost it never overwrites the one that took it over. The job's row
   * lock (its `last_seq` moved past the turn's events) orders them after every event appended before.
   */
  async function saveTurn(jobId: string, workerId: string, events: TurnEvent[], transcript: Transcript | null): Promise<JobEvent[] | null> {
    const result = await db.query<{ first_seq: number; at: Date }>(SAVE_TURN, [
      jobId,
      workerId,
      events.length,
      JSON.stringify(events.map((event) => ({ type: event.type, data: event.data })), jsonbSafe),
      ...turnCounts(events),
      transcript !== null,
      ...(transcript ? transcriptParams(transcript) : [null, 0, "[]", 0, null]),
    ]);
    const held = result.rows[0];
    if (!held) return null;
    return events.map((event, i) => storedEvent(held.first_seq + i, event.type, event.data, held.at));
  }

  return {
    /** Queues a job; a project with an active job answers `already_exists` naming it. */
    async insert(job: { id: string; projectId: string; ownerId: string; prompt: string }): Promise<JobRecord> {
      try {
        return (await one(`INSERT INTO generation_jobs (id, project_id, owner_id, prompt, status, state_version) VALUES ($1, $2, $3, $4, 'queued', ${NEXT_VERSION}) RETURNING *`, [
          job.id,
          job.projectId,
          job.ownerId,
          job.prompt,
        ]))!;
      } catch (err) {
        if ((err as { code?: string }).code !== "23505") throw err;
        const active = await db.query<{ id: string; status: string }>(`SELECT id, status FROM generation_jobs WHERE project_id = $1 AND ${ACTIVE}`, [job.projectId]);
        const running = active.rows[0];
        throw new AppError("already_exists", `project ${job.projectId} already has a ${running?.status ?? "active"} generation: ${running?.id ?? "unknown"}; wait for it or cancel it`, {
          jobId: running?.id ?? null,
        });
      }
    },

    async get(id: string): Promise<JobRecord | null> {
      return one("SELECT * FROM generation_jobs WHERE id = $1", [id]);
    },

    /** The job if `ownerId` owns it; another user's job is `not_found`, as an unknown one. */
    async getOwned(id: string, ownerId: string): Promise<JobRecord> {
      const job = await one("SELECT * FROM generation_jobs WHERE id = $1 AND owner_id = $2", [id, ownerId]);
      if (!job) throw notFound("generation", id);
      return job;
    },

    /** A project's jobs, newest first, after the (createdAt, id) position of a cursor. */
    async list(projectId: string, ownerId: string, limit: number, after: [string, string] | null): Promise<JobRecord[]> {
      const result = await db.query<JobRow>(
        `SELECT * FROM generation_jobs WHERE project_id = $1 AND owner_id = $2
           AND ($3::timestamptz IS NULL OR (${CURSOR_KEY}, id) < ($3::timestamptz, $4::text))
         ORDER BY ${CURSOR_KEY} DESC, id DESC LIMIT $5`,
        [projectId, ownerId, after?.[0] ?? null, after?.[1] ?? null, limit],
      );
      return result.rows.map(toRecord);
    },


    /** Appends an event with the job's next sequence number, in one statement. */
    async appendEvent<T extends GenerationEventType>(jobId: string, type: T, data: GenerationEventData[T]): Promise<JobEvent> {
      const result = await db.query<{ seq: number; created_at: Date }>(
        `WITH next AS (UPDATE generation_jobs SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq)
         INSERT INTO generation_events (job_id, seq, type, data) SELECT $1, last_seq, $2, $3 FROM next RETURNING seq, created_at`,
        [jobId, type, JSON.stringify(data, jsonbSafe)],
      );
      const row = result.rows[0];
      if (!row) throw notFound("generation", jobId);
      return storedEvent(row.seq, type, data, row.created_at);
    },

    async eventsAfter(jobId: string, afterSeq: number, limit = 500): Promise<JobEvent[]> {
      const result = await db.query<{ seq: number; type: string; data: unknown; created_at: Date }>(
        "SELECT seq, type, data, created_at FROM generation_events WHERE job_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        [jobId, afterSeq, limit],
      );
      return result.rows.map((r) => storedEvent(r.seq, r.type, r.data, r.created_at));
    },

    /**
     * Claims the oldest queued job, or a running one whose lease expired (its runner died), for
     * `workerId`: `FOR UPDATE SKIP LOCKED` lets any number of runners share the queue.
     */
    async claim(workerId: string, leaseMs: number): Promise<JobRecord | null> {
      return one(
        `UPDATE generation_jobs SET status = 'running', lease_owner = $1, lease_expires_at = now() + ($2 || ' milliseconds')::interval,
                attempt = attempt + 1, started_at = COALESCE(started_at, now()), updated_at = now()
          WHERE id = (SELECT id FROM generation_jobs
                       WHERE status = 'queued' OR (status = 'running' AND lease_expires_at < now())
                       ORDER BY created_at FOR UPDATE SKIP LOCKED LIMIT 1)
          RETURNING *`,
        [workerId, String(leaseMs)],
      );
    },

    /**
     * Extends the lease and adds `agentMs` spent with the agent running since the last renewal; null when
     * `workerId` no longer holds it. Reports whether a cancel was asked.
     */
    async renew(jobId: string, workerId: string, leaseMs: number, agentMs = 0): Promise<{ cancelRequested: boolean } | null> {
      const result = await db.query<{ cancel_requested: boolean }>(
        `UPDATE generation_jobs SET lease_expires_at = now() + ($3 || ' milliseconds')::interval, agent_ms = agent_ms + $4
          WHERE id = $1 AND lease_owner = $2 AND status = 'running' RETURNING cancel_requested`,
        [jobId, workerId, String(leaseMs), Math.max(0, Math.round(agentMs))],
      );
      return result.rows[0] ? { cancelRequested: result.rows[0].cancel_requested } : null;
    },

    /**
     * `renew` for every job `workerId` holds, in one statement (a runner's heartbeat: one query per tick,
     * not one per job): the ids it still holds, each with whether a cancel was asked.
     */
    async renewHeld(workerId: string, leaseMs: number, jobs: { id: string; agentMs: number }[]): Promise<Map<string, { cancelRequested: boolean }>> {
      if (jobs.length === 0) return new Map();
      const result = await db.query<{ id: string; cancel_requested: boolean }>(
        `UPDATE generation_jobs j SET lease_expires_at = now() + ($2 || ' milliseconds')::interval, agent_ms = j.agent_ms + r.ms
           FROM unnest($3::text[], $4::bigint[]) AS r(id, ms)
          WHERE j.id = r.id AND j.lease_owner = $1 AND j.status = 'running' RETURNING j.id, j.cancel_requested`,
        [workerId, String(leaseMs), jobs.map((j) => j.id), jobs.map((j) => Math.max(0, Math.round(j.agentMs)))],
      );
      return new Map(result.rows.map((row) => [row.id, { cancelRequested: row.cancel_requested }]));
    },

    /** Moves a held job to a step, adding `agentMs` of the agent's time; progress never goes backwards. */
    async setStep(jobId: string, workerId: string, step: JobStep, progress: number, agentMs = 0): Promise<JobRecord | null> {
      return one(
        `UPDATE generation_jobs SET step = $3, progress = GREATEST(progress, $4), agent_ms = agent_ms + $5, updated_at = now()
          WHERE id = $1 AND lease_owner = $2 AND status = 'running' RETURNING *`,
        [jobId, workerId, step, progress, Math.max(0, Math.round(agentMs))],
      );
    },

    /** Records the workspace a held job runs in. */
    async recordWorkspace(jobId: string, workerId: string, workspaceId: string): Promise<void> {
      await db.query("UPDATE generation_jobs SET workspace_id = $3, updated_at = now() WHERE id = $1 AND lease_owner = $2", [jobId, workerId, workspaceId]);
    },

    saveTurn,

    /** A job's saved conversation; null before its agent first ran. */
    async transcript(jobId: string): Promise<Transcript | null> {
      return oneTranscript("SELECT system_version, turns, messages, compactions, outcome FROM generation_transcripts WHERE job_id = $1", [jobId]);
    },

    /** The conversation of the project's latest other job that has one (what a follow-up continues). */
    async latestTranscript(projectId: string, exceptJobId: string): Promise<Transcript | null> {
      return oneTranscript(
        `SELECT t.system_version, t.turns, t.messages, t.compactions, t.outcome FROM generation_transcripts t JOIN generation_jobs j ON j.id = t.job_id
          WHERE j.project_id = $1 AND j.id <> $2 ORDER BY j.created_at DESC, j.id DESC LIMIT 1`,
        [projectId, exceptJobId],
      );
    },

    /**
     * Ends a job held by `workerId` and appends its final event (completed, failed or cancelled, saying
     * how) in the same statement: no job ends without the event its streams close on, nor with an
     * approval still pending (each is closed as cancelled, saying how the job ended). Returns the ended
     * job and its final event as stored, or null when `workerId` no longer held it.
     */
    async finish(jobId: string, workerId: string, outcome: GenerationOutcomeData): Promise<{ job: JobRecord; event: JobEvent } | null> {
      const job = await one(
        `WITH done AS (
           UPDATE generation_jobs SET status = $3, step = 'done', progress = CASE WHEN $3 = 'completed' THEN 100 ELSE progress END,
                  error = $4, error_kind = $7, summary = COALESCE($5, summary), state_version = ${NEXT_VERSION}, last_seq = last_seq + 1,
                  lease_owner = NULL, lease_expires_at = NULL, finished_at = now(), updated_at = now()
            WHERE id = $1 AND lease_owner = $2 AND status = 'running' RETURNING *),
         final AS (INSERT INTO generation_events (job_id, seq, type, data) SELECT id, last_seq, $3, $6 FROM done),
         closed AS (${CLOSE_APPROVALS})
         SELECT * FROM done`,
        [jobId, workerId, outcome.status, outcome.error ? storable(outcome.error) : null, outcome.summary ? storable(outcome.summary) : null, JSON.stringify(outcome, jsonbSafe), outcome.errorKind ?? null],
      );
      // The event was stored in the same statement: its `created_at` is the job's `finished_at`.
      return job && { job, event: storedEvent(job.lastSeq, outcome.status, outcome, job.finishedAt!) };
    },

    /** Cancels a job no runner has claimed yet, with its final event (and closes its pending approvals); null once one has (then only `requestCancel` stops it). */
    async cancelQueued(jobId: string, error: string): Promise<JobRecord | null> {
      return one(
        `WITH done AS (
           UPDATE generation_jobs SET status = 'cancelled', step = 'done', error = $2, state_version = ${NEXT_VERSION}, last_seq = last_seq + 1,
                  finished_at = now(), updated_at = now()
            WHERE id = $1 AND status = 'queued' RETURNING *),
         final AS (INSERT INTO generation_events (job_id, seq, type, data) SELECT id, last_seq, 'cancelled', $3 FROM done),
         closed AS (${CLOSE_APPROVALS})
         SELECT * FROM done`,
        [jobId, error, JSON.stringify({ status: "cancelled", error } satisfies GenerationOutcomeData)],
      );
    },

    /**
     * What a project's generations say it is, read in one snapshot: its newest job, the status of the
     * newest job that was claimed or is still to run (a job cancelled before it started changes nothing),
     * and the version of that state (0 when the project has no job).
     */
    async projectState(projectId: string): Promise<{ latestJobId: string | null; jobStatus: JobStatus | null; version: number }> {
      const result = await db.query<{ latest_job_id: string | null; job_status: JobStatus | null; version: string | null }>(
        `SELECT (SELECT id FROM generation_jobs WHERE project_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1) AS latest_job_id,
                (SELECT status FROM generation_jobs WHERE project_id = $1 AND (${ACTIVE} OR started_at IS NOT NULL)
                  ORDER BY created_at DESC, id DESC LIMIT 1) AS job_status,
                (SELECT max(state_version) FROM generation_jobs WHERE project_id = $1) AS version`,
        [projectId],
      );
      const row = result.rows[0]!;
      return { latestJobId: row.latest_job_id, jobStatus: row.job_status, version: Number(row.version ?? 0) };
    },

    /** Records that the projects service was told a project's state up to `version`. */
    async markSynced(projectId: string, version: number): Promise<void> {
      await db.query("UPDATE generation_jobs SET synced_version = state_version WHERE project_id = $1 AND state_version <= $2 AND synced_version < state_version", [
        projectId,
        version,
      ]);
    },

    /** Projects whose latest state the projects service was not told (its teller died or failed) for `graceMs`. */
    async unsyncedProjects(graceMs: number, limit: number): Promise<string[]> {
      const result = await db.query<{ project_id: string }>(
        `SELECT project_id FROM generation_jobs WHERE synced_version < state_version AND updated_at < now() - ($1 || ' milliseconds')::interval
          GROUP BY project_id ORDER BY min(updated_at) LIMIT $2`,
        [String(graceMs), limit],
      );
      return result.rows.map((r) => r.project_id);
    },

    /** Gives a held job's lease up at once, so another runner can take it over. */
    async release(jobId: string, workerId: string): Promise<void> {
      await db.query("UPDATE generation_jobs SET lease_expires_at = now() WHERE id = $1 AND lease_owner = $2 AND status = 'running'", [jobId, workerId]);
    },

    /** Records a background process a held job started, or its new id once restarted (by name); false when `workerId` no longer holds the job. */
    async recordProcess(jobId: string, workerId: string, process: BackgroundProcess): Promise<boolean> {
      const result = await db.query(
        `UPDATE generation_jobs SET processes = (SELECT COALESCE(jsonb_agg(p), '[]'::jsonb) FROM jsonb_array_elements(processes) p WHERE p->>'name' <> $3) || jsonb_build_array($4::jsonb)
          WHERE id = $1 AND lease_owner = $2 AND status = 'running'`,
        [jobId, workerId, process.name, JSON.stringify(process, jsonbSafe)],
      );
      return result.rowCount === 1;
    },

    /** Asks a running job to stop (its runner sees it at the next heartbeat). */
    async requestCancel(jobId: string): Promise<JobRecord | null> {
      return one("UPDATE generation_jobs SET cancel_requested = true, updated_at = now() WHERE id = $1 AND status = 'running' RETURNING *", [jobId]);
    },

    /** Counts by status, and the queue's depth (for metrics and health). */
    async counts(): Promise<Record<JobStatus, number>> {
      const result = await db.query<{ status: JobStatus; n: string }>("SELECT status, count(*) AS n FROM generation_jobs GROUP BY status");
      const counts: Record<JobStatus, number> = { queued: 0, running: 0, completed: 0, failed: 0, cancelled: 0 };
      for (const row of result.rows) counts[row.status] = Number(row.n);
      return counts;
    },
  };
}

/** The job store's interface. */
export type JobStore = ReturnType<typeof createJobStore>;
