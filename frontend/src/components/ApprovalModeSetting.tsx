import { useMutation, useQueryClient } from "@tanstack/react-query";
import type { ApprovalMode, Project } from "../../../projects/contract";
import { useApi } from "../auth";
import { ErrorNotice } from "./ErrorNotice";

const OPTIONS: { mode: ApprovalMode; label: string; detail: string }[] = [
  { mode: "auto", label: "Automatic", detail: "The agent runs commands and changes files without asking." },
  { mode: "commands", label: "Ask for commands", detail: "You approve every command before it runs." },
  { mode: "everything", label: "Ask for everything that changes files or runs code", detail: "You approve every command, file change and check, seeing the command or the diff." },
];

/** The project's approval mode (when its generations ask before a tool call runs); a change applies from the agent's next call. */
export function ApprovalModeSetting({ project }: { project: Project }) {
  const api = useApi();
  const queryClient = useQueryClient();
  const update = useMutation({
    mutationFn: (approvalMode: ApprovalMode) => api.projects.update({ id: project.id, approvalMode }),
    onSuccess: (updated: Project) => queryClient.setQueryData(["project", project.id], updated),
  });
  const current = update.isPending && update.variables ? update.variables : project.approvalMode;
  return (
    <fieldset className="approval-mode" data-testid="approval-mode" data-mode={project.approvalMode}>
      <legend className="approval-mode-title">Approvals</legend>
      {OPTIONS.map((option) => (
        <label key={option.mode} className="approval-mode-option">
          <input type="radio" name={`approval-mode-${project.id}`} value={option.mode} checked={current === option.mode} disabled={update.isPending} onChange={() => update.mutate(option.mode)} data-testid={`approval-mode-${option.mode}`} />
          <span>
            <span className="approval-mode-label">{option.label}</span>
            <span className="muted small"> — {option.detail}</span>
          </span>
        </label>
      ))}
      <div className="muted small">"Always allow" on a command adds that exact command text, nothing wider; the agent cannot widen it.</div>
      {update.error ? <ErrorNotice error={update.error} context="Saving the approval mode" compact /> : null}
    </fieldset>
  );
}
