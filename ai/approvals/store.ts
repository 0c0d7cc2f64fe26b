import type pg from "pg";
import type { Approval, ApprovalStatus, ApprovalSubject } from "../contract";
import { jsonbSafe } from "../jobs/store";

/** An approval as stored: the contract's view plus what only the runner needs. */
export interface ApprovalRecord extends Approval {
  projectId: string;
  /** When the runner began the approved call (it runs at most once). */
  executedAt: Date | null;
}

interface ApprovalRow {
  id: string;
  job_id: string;
  project_id: string;
  tool_use_id: string;
  tool: string;
  input: unknown;
  subject: ApprovalSubject;
  status: ApprovalStatus;
  reason: string | null;
  always_allow: boolean;
  answered_by: string | null;
  answered_at: Date | null;
  deadline: Date;
  executed_at: Date | null;
  created_at: Date;
}

function toRecord(row: ApprovalRow): ApprovalRecord {
  return {
    id: row.id,
    jobId: row.job_id,
    projectId: row.project_id,
    toolUseId: row.tool_use_id,
    tool: row.tool,
    input: row.input,
    subject: row.subject,
    status: row.status,
    reason: row.reason,
    alwaysAllow: row.always_allow,
    answeredBy: row.answered_by,
    answeredAt: row.answered_at?.toISOString() ?? null,
    deadline: row.deadline.toISOString(),
    executedAt: row.executed_at,
    createdAt: row.created_at.toISOString(),
  };
}

/** The contract's view of an approval (without the runner's bookkeeping). */
export function publicApproval({ projectId: _p, executedAt: _e, ...approval }: ApprovalRecord): Approval {
  return approval;
}

/** A user's answer. */
export interface ApprovalAnswer {
  status: "approved" | "denied";
  reason: string | null;
  alwaysAllow: boolean;
  answeredBy: string;
}

/** Approvals and the projects' allow rules in Postgres: every change is one conditional statement. */
export function createApprovalStore(db: pg.Pool) {
  const one = async (sql: string, params: unknown[]): Promise<ApprovalRecord | null> => {
    const result = await db.query<ApprovalRow>(sql, params);
    return result.rows[0] ? toRecord(result.rows[0]) : null;
  };

  const forCall = (jobId: string, toolUseId: string) => one("SELECT * FROM generation_approvals WHERE job_id = $1 AND tool_use_id = $2", [jobId, toolUseId]);

  return {
    /** Asks about a tool call, once: a second ask for the same call returns the first. */
    async request(a: { id: string; jobId: string; projectId: string; toolUseId: string; tool: string; input: unknown; subject: ApprovalSubject; timeoutMs: number }): Promise<{ approval: ApprovalRecord; created: boolean }> {
      const created = await one(
        `INSERT INTO generation_approvals (id, job_id, project_id, tool_use_id, tool, input, subject, deadline)
         VALUES ($1, $2, $3, $4, $5, $6, $7, now() + ($8 || ' milliseconds')::interval)
         ON CONFLICT (job_id, tool_use_id) DO NOTHING RETURNING *`,
        [a.id, a.jobId, a.projectId, a.toolUseId, a.tool, JSON.stringify(a.input, jsonbSafe), JSON.stringify(a.subject, jsonbSafe), String(a.timeoutMs)],
      );
      if (created) return { approval: created, created: true };
      return { approval: (await forCall(a.jobId, a.toolUseId))!, created: false };
    },

    /** The approval of a job's tool call, if it was asked about. */
    forCall,

    async get(jobId: string, id: string): Promise<ApprovalRecord | null> {
      return one("SELECT * FROM generation_approvals WHERE job_id = $1 AND id = $2", [jobId, id]);
    },

    /** A job's approvals, oldest first; only the pending ones with `pendingOnly`. */
    async list(jobId: string, pendingOnly: boolean): Promise<ApprovalRecord[]> {
      const result = await db.query<ApprovalRow>(
        "SELECT * FROM generation_approvals WHERE job_id = $1 AND ($2::boolean IS FALSE OR status = 'pending') ORDER BY created_at, id",
        [jobId, pendingOnly],
      );
      return result.rows.map(toRecord);
    },

    /**
     * Answers a pending approval of a running job before its deadline; null when it is not pending, past
     * it, or its job ended (JobStore.finish closes a job's pending approvals with its end). An
     * "always allow" approval of a command stores its exact string as the project's rule in the same statement.
     */
    async answer(jobId: string, id: string, answer: ApprovalAnswer): Promise<ApprovalRecord | null> {
      return one(
        `WITH answered AS (
           UPDATE generation_approvals SET status = $3, reason = $4, always_allow = $5, answered_by = $6, answered_at = now()
            WHERE job_id = $1 AND id = $2 AND status = 'pending' AND deadline > now()
              AND EXISTS (SELECT 1 FROM generation_jobs WHERE id = $1 AND status = 'running') RETURNING *
         ), rule AS (
           INSERT INTO approval_allow_rules (project_id, command, created_by)
           SELECT project_id, subject->>'command', answered_by FROM answered
            WHERE always_allow AND status = 'approved' AND subject->>'kind' = 'command'
           ON CONFLICT (project_id, command) DO NOTHING
         )
         SELECT * FROM answered`,
        [jobId, id, answer.status, answer.reason, answer.alwaysAllow, answer.answeredBy],
      );
    },

    /** Ends a pending approval past its deadline as timed out (by the database's clock); null if it is not. */
    async expire(id: string, reason: string): Promise<ApprovalRecord | null> {
      return one(
        "UPDATE generation_approvals SET status = 'timed_out', reason = $2, answered_at = now() WHERE id = $1 AND status = 'pending' AND deadline <= now() RETURNING *",
        [id, reason],
      );
    },

    /** Ends a pending approval of a cancelled job; null if it was no longer pending. */
    async cancel(id: string): Promise<ApprovalRecord | null> {
      return one(
        "UPDATE generation_approvals SET status = 'cancelled', reason = 'the generation ended (cancelled) before this was answered', answered_at = now() WHERE id = $1 AND status = 'pending' RETURNING *",
        [id],
      );
    },

    /** Marks an approved call as begun; false when it already was (it must not run twice). */
    async beginExecution(id: string): Promise<boolean> {
      const result = await db.query("UPDATE generation_approvals SET executed_at = now() WHERE id = $1 AND status = 'approved' AND executed_at IS NULL", [id]);
      return result.rowCount === 1;
    },

    /** Whether the project allows exactly this command string without asking. */
    async allowed(projectId: string, command: string): Promise<boolean> {
      const result = await db.query("SELECT 1 FROM approval_allow_rules WHERE project_id = $1 AND command = $2", [projectId, command]);
      return (result.rowCount ?? 0) > 0;
    },
  };
}

/** The approval store's interface. */
export type ApprovalStore = ReturnType<typeof createApprovalStore>;
