import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useId, useState } from "react";
import type { AnswerApprovalRequest, Approval, ApprovalSubject } from "../../../ai/contract";
import { useApi } from "../auth";
import { ErrorNotice } from "./ErrorNotice";

/** The longest reason the server takes with a denial. */
const REASON_MAX = 1000;

function title(subject: ApprovalSubject): string {
  if (subject.kind === "command") return subject.background ? "The agent asks to start a background command" : "The agent asks to run a command";
  if (subject.kind === "file") return "The agent asks to change a file";
  return "The agent asks to run the app's checks (they run its code)";
}

/** What the call would do, exactly as the server stored it (untrusted text: shown, never interpreted). */
function SubjectView({ subject }: { subject: ApprovalSubject }) {
  if (subject.kind === "command") {
    return (
      <>
        <pre className="approval-command" data-testid="approval-command">
          {subject.command}
        </pre>
        {subject.cwd && <div className="muted small">in {subject.cwd}</div>}
      </>
    );
  }
  if (subject.kind === "file") {
    return (
      <>
        <div className="approval-path" data-testid="approval-path">
          {subject.path}
        </div>
        <pre className="approval-diff" data-testid="approval-diff">
          {subject.diff.split("\n").map((line, i) => (
            <span key={i} className={line.startsWith("+") && !line.startsWith("+++") ? "patch-add" : line.startsWith("-") && !line.startsWith("---") ? "patch-del" : undefined}>
              {line}
              {"\n"}
            </span>
          ))}
        </pre>
      </>
    );
  }
  return subject.devCommand ? (
    <pre className="approval-command" data-testid="approval-command">
      {subject.devCommand}
    </pre>
  ) : (
    <div className="muted small">Typecheck, build, lint, the dev server and the page in a browser, as the project's template defines them.</div>
  );
}

/**
 * One tool call waiting for the user: what it would do, Approve and Deny (with an optional reason the
 * agent reads), and for a command "always allow" of that exact text. Plain buttons and fields, so the
 * whole card works from the keyboard.
 */
export function ApprovalCard({ jobId, approval }: { jobId: string; approval: Approval }) {
  const api = useApi();
  const queryClient = useQueryClient();
  const [reason, setReason] = useState("");
  const [always, setAlways] = useState(false);
  const ids = useId();
  const answer = useMutation({
    mutationFn: (decision: AnswerApprovalRequest["decision"]) =>
      api.ai.answerApproval({ id: jobId, approvalId: approval.id, decision, ...(decision === "deny" && reason.trim() ? { reason: reason.trim() } : {}), ...(decision === "approve" && always ? { alwaysAllow: true } : {}) }),
    onSettled: () => void queryClient.invalidateQueries({ queryKey: ["approvals", jobId] }),
  });
  const command = approval.subject.kind === "command";
  const deadline = new Date(approval.deadline).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return (
    <section className="approval-card" role="group" aria-labelledby={`${ids}-title`} data-testid="approval-card" data-approval-id={approval.id}>
      <div className="approval-title" id={`${ids}-title`}>
        {title(approval.subject)}
      </div>
      <SubjectView subject={approval.subject} />
      <div className="muted small">Not answered by {deadline}, it counts as denied.</div>
      {command && (
        <label className="approval-always">
          <input type="checkbox" checked={always} onChange={(e) => setAlways(e.target.checked)} data-testid="approval-always" />
          <span>
            Always allow this command in this project
            <span className="muted small approval-always-note"> — exactly this text only: any other command, even one character different, asks again</span>
          </span>
        </label>
      )}
      <label className="approval-reason">
        <span className="small">Reason for a denial (optional, the agent reads it)</span>
        <input value={reason} maxLength={REASON_MAX} onChange={(e) => setReason(e.target.value)} disabled={always} data-testid="approval-reason" />
      </label>
      <div className="approval-actions">
        <button className="btn btn-small btn-primary" onClick={() => answer.mutate("approve")} disabled={answer.isPending} data-testid="approval-approve">
          {always ? "Approve and always allow" : "Approve"}
        </button>
        <button className="btn btn-small" onClick={() => answer.mutate("deny")} disabled={answer.isPending || always} data-testid="approval-deny">
          Deny
        </button>
      </div>
      {answer.error ? <ErrorNotice error={answer.error} context="Answering the approval" compact /> : null}
    </section>
  );
}

/**
 * The pending approvals of a running generation, inline in its thread; read again whenever the job's
 * step changes (it moves to waiting_for_approval when one is asked, and on when it is answered).
 */
export function ApprovalCards({ jobId, step }: { jobId: string; step: string | null }) {
  const api = useApi();
  const queryClient = useQueryClient();
  const approvals = useQuery({ queryKey: ["approvals", jobId], queryFn: () => api.ai.listApprovals({ id: jobId }) });
  useEffect(() => {
    void queryClient.invalidateQueries({ queryKey: ["approvals", jobId] });
  }, [queryClient, jobId, step]);
  if (approvals.error) return <ErrorNotice error={approvals.error} context="Loading the approvals" onRetry={() => approvals.refetch()} compact />;
  const pending = approvals.data?.approvals ?? [];
  if (pending.length === 0) return null;
  return (
    <div className="approvals" data-testid="approvals">
      {pending.map((approval) => (
        <ApprovalCard key={approval.id} jobId={jobId} approval={approval} />
      ))}
    </div>
  );
}
