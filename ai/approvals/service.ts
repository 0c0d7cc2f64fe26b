import { AppError, invalidArgument, notFound } from "../../lib/errors";
import { optionalBoolean, optionalText, requireText } from "../../lib/validate";
import type { AiApi, EmitEvent } from "../contract";
import type { JobStore } from "../jobs/store";
import { publicApproval, type ApprovalStore } from "./store";

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
      if (current.status !== "pending") throw new AppError("aborted", `approval ${approvalId} was already answered: ${current.status.replace("_", " ")}`, { status: current.status });
      if (job.status !== "running") throw new AppError("aborted", `generation ${job.id} is ${job.status}; its approvals can no longer be answered`);
      const answered = await deps.approvals.answer(job.id, approvalId, { status, reason, alwaysAllow, answeredBy: auth.userID });
      if (!answered) {
        // Answered by someone else meanwhile, or past its deadline (the database's clock decides).
        const now = (await deps.approvals.get(job.id, approvalId))!;
        throw new AppError("aborted", now.status === "pending" ? `approval ${approvalId} timed out at ${now.deadline}` : `approval ${approvalId} was already answered: ${now.status.replace("_", " ")}`, { status: now.status === "pending" ? "timed_out" : now.status });
      }
      await deps.emit(job.id, "approval_answered", { approvalId, toolUseId: answered.toolUseId, status, reason, alwaysAllow });
      return publicApproval(answered);
    },
  };
}
