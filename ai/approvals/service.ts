import { AppError, invalidArgument, notFound } from "../../lib/errors";
import { optionalBoolean, optionalText, requireText } from "../../lib/validate";
import type { AiApi, EmitEvent } from "../contract";
import type { JobRecord, JobStore } from "../jobs/store";
import { publicApproval, type ApprovalRecord, type ApprovalStore } from "./store";

/** The longest reason a denial may give the model. */
const REASON_MAX = 1000;

const DECISIONS = { approve: "approved", deny: "denied" } as const;

/** What the approval endpoints need of the ai service. */
export interface ApprovalMethodsDeps {
  jobs: JobStore;
  approvals: ApprovalStore;
  /** Appends an event to a job's log and wakes whoever follows it (the waiting runner too). */
  emit: (jobId: string, ...event: Parameters<EmitEvent>) => Promise<void>;
}

/**
 * The 409 for an approval no longer pending: answered, timed out, or closed because its job ended
 * (cancelled, with the reason saying how the job ended).
 */
function notAnswerable(approval: ApprovalRecord): AppError {
  const message = approval.status === "cancelled"
    ? `approval ${approval.id} can no longer be answered: ${approval.reason ?? "the generation ended before it was answered"}`
    : `approval ${approval.id} was already answered: ${approval.status.replace("_", " ")}`;
  return new AppError("aborted", message, { status: approval.status });
}

/** The 409 for an approval of a job that ended (one it closed, or one still pending a moment before its end). */
function jobEnded(job: JobRecord): AppError {
  return new AppError("aborted", `generation ${job.id} ended (${job.status}); its approvals can no longer be answered`, { jobStatus: job.status });
}

/** The approval endpoints: owner only (another user's job or approval is `not_found`, as an unknown one). */
export function createApprovalMethods(deps: ApprovalMethodsDeps): Pick<AiApi, "listApprovals" | "answerApproval"> {
  return {
    async listApprovals(req, auth) {
      const job = await deps.jobs.getOwned(requireText("id", req.id, { min: 1, max: 100 }), auth.userID);
      const pending = optionalBoolean("pending", req.pending) ?? true;
      return { approvals: (await deps.approvals.list(job.id, pending)).map(publicApproval) };
    },

    async answerApproval(req, auth) {
      const job = await deps.jobs.getOwned(requireText("id", req.id, { min: 1, max: 100 }), auth.userID);
      const approvalId = requireText("approvalId", req.approvalId, { min: 1, max: 100 });
      const status = Object.hasOwn(DECISIONS, req.decision as string) ? DECISIONS[req.decision] : undefined;
      if (!status) throw invalidArgument("decision", `must be "approve" or "deny", got ${JSON.stringify(req.decision)}`);
      const reason = optionalText("reason", req.reason, REASON_MAX)?.trim() || null;
      const alwaysAllow = optionalBoolean("alwaysAllow", req.alwaysAllow) ?? false;
      const current = await deps.approvals.get(job.id, approvalId);
      if (!current) throw notFound("approval", approvalId);
      if (alwaysAllow && (status !== "approved" || current.subject.kind !== "command")) {
        throw invalidArgument("alwaysAllow", "only an approval of a command (execute_command) can always allow it");
      }
      if (current.status !== "pending") throw notAnswerable(current);
      if (job.status !== "running") throw jobEnded(job);
      const answered = await deps.approvals.answer(job.id, approvalId, { status, reason, alwaysAllow, answeredBy: auth.userID });
      if (!answered) {
        // Answered by someone else meanwhile, past its deadline (the database's clock decides), or its job ended.
        const now = (await deps.approvals.get(job.id, approvalId))!;
        if (now.status !== "pending") throw notAnswerable(now);
        const ended = await deps.jobs.get(job.id);
        if (ended && ended.status !== "running") throw jobEnded(ended);
        throw new AppError("aborted", `approval ${approvalId} timed out at ${now.deadline}`, { status: "timed_out" });
      }
      await deps.emit(job.id, "approval_answered", { approvalId, toolUseId: answered.toolUseId, status, reason, alwaysAllow });
      return publicApproval(answered);
    },
  };
}
