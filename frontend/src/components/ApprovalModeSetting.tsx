import { useQueryClient } from "@tanstack/react-query";
import { useRef, useState } from "react";
import type { ApprovalMode, Project } from "../../../projects/contract";
import { useApi } from "../auth";
import { ErrorNotice } from "./ErrorNotice";

const OPTIONS: { mode: ApprovalMode; label: string; detail: string }[] = [
  { mode: "auto", label: "Automatic", detail: "The agent runs commands and changes files without asking." },
  { mode: "commands", label: "Ask for commands", detail: "You approve every command before it runs." },
  { mode: "everything", label: "Ask for everything that changes files or runs code", detail: "You approve every command, file change and check, seeing the command or the diff." },
];

const labelOf = (mode: ApprovalMode) => OPTIONS.find((o) => o.mode === mode)!.label;

/**
 * The project's approval mode (when its generations ask before a tool call runs); a change applies from
 * the agent's next call. A choice shows at once and is saved behind it (choices made while one is saving
 * are saved in order, the last one wins); if the server refuses, the saved mode comes back with the error.
 */
export function ApprovalModeSetting({ project }: { project: Project }) {
  const api = useApi();
  const queryClient = useQueryClient();
  /** The choice being saved (shown before the server answers); null when what shows is the saved mode. */
  const [saving, setSaving] = useState<ApprovalMode | null>(null);
  const [outcome, setOutcome] = useState<{ saved: ApprovalMode } | { error: unknown; mode: ApprovalMode } | null>(null);
  const latest = useRef(0);
  const queue = useRef<Promise<unknown>>(Promise.resolve());

  function choose(mode: ApprovalMode): void {
    const seq = ++latest.current;
    setSaving(mode);
    setOutcome(null);
    const save = queue.current.catch(() => undefined).then(() => api.projects.update({ id: project.id, approvalMode: mode }));
    queue.current = save;
    save.then(
      (updated: Project) => {
        queryClient.setQueryData(["project", project.id], updated);
        if (seq !== latest.current) return;
        setSaving(null);
        setOutcome({ saved: updated.approvalMode });
      },
      (error: unknown) => {
        if (seq !== latest.current) return;
        // Back to what the server has (the last save that succeeded).
        setSaving(null);
        setOutcome({ error, mode });
      },
    );
  }

  const current = saving ?? project.approvalMode;
  return (
    <fieldset className="approval-mode" data-testid="approval-mode" data-mode={project.approvalMode} aria-busy={saving !== null}>
      <legend className="approval-mode-title">Approvals</legend>
      {OPTIONS.map((option) => (
        <label key={option.mode} className="approval-mode-option">
          <input type="radio" name={`approval-mode-${project.id}`} value={option.mode} checked={current === option.mode} onChange={() => choose(option.mode)} data-testid={`approval-mode-${option.mode}`} />
          <span>
            <span className="approval-mode-label">{option.label}</span>
            <span className="muted small"> — {option.detail}</span>
          </span>
        </label>
      ))}
      <div className="muted small">"Always allow" on a command adds that exact command text, nothing wider; the agent cannot widen it.</div>
      <div className="muted small" role="status" data-testid="approval-mode-status">
        {saving !== null
          ? `Saving "${labelOf(saving)}"…`
          : outcome && "saved" in outcome
            ? `Saved: "${labelOf(outcome.saved)}" applies from the agent's next call.`
            : outcome
              ? `"${labelOf(outcome.mode)}" was not saved: the mode stays "${labelOf(project.approvalMode)}".`
              : ""}
      </div>
      {outcome && "error" in outcome ? <ErrorNotice error={outcome.error} context="Saving the approval mode" compact /> : null}
    </fieldset>
  );
}
