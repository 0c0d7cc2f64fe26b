import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { Generation } from "../../../ai/contract";
import { useApi } from "../auth";
import { formatCost, formatTokens, timeAgo } from "../lib/format";
import { fixPrompt, stepLabel, type JobState } from "../lib/jobState";
import { ApprovalCards } from "./ApprovalCard";
import { ChecksPanel } from "./ChecksPanel";
import { Elapsed } from "./Elapsed";
import { ErrorNotice } from "./ErrorNotice";
import { ProjectThumbnail } from "./ProjectThumbnail";
import { StatusBadge } from "./StatusBadge";
import { Timeline } from "./Timeline";
import type { GenerationStream } from "./useGenerationStream";

const ACTIVE = new Set(["queued", "running"]);

/** What the latest job of a thread offers after it failed: a follow-up pre-filled with its errors, or the same prompt again. */
export interface JobActions {
  fix(prompt: string): void;
  retry(prompt: string): void;
  /** Why the actions cannot be used now (a generation runs), else null. */
  blocked: string | null;
}

/** A job's status as the live stream says it, else as the server last said it. */
export function jobStatus(state: JobState, job: Generation | undefined): string {
  return state.final?.type ?? job?.status ?? "queued";
}

/** "Turn 3 · 5 tool calls · checks 1/2": what the agent has done so far. */
function workLine(state: JobState): string | null {
  const parts: string[] = [];
  if (state.turns > 0) parts.push(`turn ${state.turns}`);
  if (state.toolCalls > 0) parts.push(`${state.toolCalls} tool call${state.toolCalls === 1 ? "" : "s"}`);
  if (state.checks.length > 0) parts.push(`checks ${state.checks.filter((c) => c.state === "ok").length}/${state.checks.length}`);
  return parts.length ? parts.join(" · ").replace(/^./, (c) => c.toUpperCase()) : null;
}

function Outcome({ state, job, projectId, filesKept, actions }: { state: JobState; job: Generation | undefined; projectId: string; filesKept: boolean | null; actions: JobActions | null }) {
  const status = jobStatus(state, job);
  // Said only once the files are known: never "kept" when there are none.
  const kept = filesKept === null ? "" : filesKept ? "Your files are kept. " : "No files were written. ";
  if (status === "completed") {
    const summary = state.final?.type === "completed" ? state.final.summary : (job?.summary ?? null);
    return (
      <div className="outcome outcome-ok" data-testid="job-outcome" data-outcome="completed">
        <div className="outcome-title">Your app is ready</div>
        {summary && <div className="outcome-text">{summary}</div>}
        {state.thumbnail && <ProjectThumbnail projectId={projectId} version={state.thumbnail} className="outcome-shot" alt="The app as the final check saw it" />}
      </div>
    );
  }
  if (status === "failed") {
    const final = state.final?.type === "failed" ? state.final : null;
    const error = (final ? final.error : job?.error) ?? null;
    // The server says when a failure is its configuration (a key, a model, an account): no prompt can fix it.
    const configuration = (final ? final.errorKind : job?.errorKind) === "misconfigured";
    return (
      <div className="outcome outcome-failed" data-testid="job-outcome" data-outcome={configuration ? "misconfigured" : "failed"}>
        <div className="outcome-title">{configuration ? "The server is misconfigured" : "The generation stopped"}</div>
        <div className="outcome-text" data-testid="job-error">
          {configuration ? `The server is misconfigured: ${error}` : (error ?? "No reason was given.")}
        </div>
        <div className="outcome-hint">
          {configuration ? "No prompt can fix this: whoever runs this Kiln server must correct its configuration, then Retry." : `${kept}Let the agent try to fix it, or try the same prompt again.`}
        </div>
        {actions && job && (
          <div className="outcome-actions">
            {!configuration && (
              <button className="btn btn-small btn-primary" onClick={() => actions.fix(fixPrompt(state, error))} disabled={actions.blocked !== null} title={actions.blocked ?? "Puts a follow-up with these errors in the prompt box"} data-testid="try-fix">
                Try to fix
              </button>
            )}
            <button className="btn btn-small" onClick={() => actions.retry(job.prompt)} disabled={actions.blocked !== null} title={actions.blocked ?? "Sends the same prompt again"} data-testid="retry-job">
              Retry
            </button>
          </div>
        )}
      </div>
    );
  }
  if (status === "cancelled") {
    return (
      <div className="outcome outcome-cancelled" data-testid="job-outcome" data-outcome="cancelled">
        <div className="outcome-title">Cancelled</div>
        <div className="outcome-text">{filesKept === null ? "Send a prompt to continue." : filesKept ? "The files written so far are kept. Send a prompt to continue." : "No files were written. Send a prompt to start again."}</div>
      </div>
    );
  }
  return null;
}

/**
 * One generation of a project's thread, as it happens: the prompt, steps, elapsed time, progress
 * that follows the agent's work, its narration and tool cards, checks, usage and cost, the outcome.
 * The page follows the stream (its preview needs the same events) and hands it in.
 */
export function JobView({ jobId, projectId, stream, filesKept, actions = null }: { jobId: string; projectId: string; stream: GenerationStream; filesKept: boolean | null; actions?: JobActions | null }) {
  const api = useApi();
  const queryClient = useQueryClient();
  const job = useQuery({ queryKey: ["generation", jobId], queryFn: () => api.ai.get({ id: jobId }) });
  const { state, status } = stream;
  const cancel = useMutation({
    mutationFn: () => api.ai.cancel({ id: jobId }),
    onSuccess: (updated: Generation) => {
      queryClient.setQueryData(["generation", jobId], updated);
      void queryClient.invalidateQueries({ queryKey: ["generations", projectId] });
    },
  });

  const g = job.data;
  const current = jobStatus(state, g);
  const finished = !ACTIVE.has(current);
  const progress = Math.round(current === "completed" ? 100 : Math.max(state.progress, g?.progress ?? 0));
  const usage = state.usage.inputTokens + state.usage.outputTokens > 0 ? state.usage : g?.usage;
  const cacheTokens = usage ? usage.cacheReadTokens + usage.cacheWriteTokens : 0;
  const work = workLine(state);
  const stepText = finished ? (current === "completed" ? "Done" : current === "cancelled" ? "Cancelled" : "Stopped") : stepLabel(state.step ?? g?.step ?? null);

  return (
    <div className="job" data-testid="job-view" data-job-id={jobId} data-job-status={current}>
      {g && (
        <div className="bubble bubble-user">
          <div className="bubble-text">{g.prompt}</div>
          <div className="bubble-meta">{timeAgo(g.createdAt)}</div>
        </div>
      )}
      {job.error ? <ErrorNotice error={job.error} context="Loading the generation" onRetry={() => job.refetch()} compact /> : null}

      <div className="job-card">
        <div className="job-card-head">
          <StatusBadge status={current} />
          <span className="job-step" data-testid="job-step">
            {stepText}
          </span>
          <Elapsed from={g?.startedAt ?? state.startedAt ?? g?.createdAt ?? null} to={finished ? (state.endedAt ?? g?.finishedAt ?? null) : null} />
          <span className="spacer" />
          {!finished && (
            <button className="btn btn-small btn-danger-ghost" onClick={() => cancel.mutate()} disabled={cancel.isPending} data-testid="cancel-job">
              {cancel.isPending ? "Cancelling…" : "Cancel"}
            </button>
          )}
        </div>
        <div className="progress" role="progressbar" aria-label="Progress" aria-valuenow={progress} aria-valuemin={0} aria-valuemax={100} aria-valuetext={`${progress}%: ${stepText}`} data-testid="job-progress">
          <div className={`progress-bar progress-${finished ? current : "live"}`} style={{ width: `${progress}%` }} />
        </div>
        {work && (
          <div className="muted small" data-testid="job-work">
            {work}
          </div>
        )}
        <ol className="steps" data-testid="job-steps">
          {state.steps.map((s, i) => (
            <li key={`${s.step}-${i}`} className={i === state.steps.length - 1 && !finished ? "step-current" : "step-done"}>
              {stepLabel(s.step)}
            </li>
          ))}
        </ol>
        <div className="usage" data-testid="job-usage">
          <span title="input tokens (prompt cache reads and writes included) / output tokens">
            {formatTokens((usage?.inputTokens ?? 0) + cacheTokens)} in · {formatTokens(usage?.outputTokens ?? 0)} out
          </span>
          {cacheTokens > 0 && <span title="input tokens read from or written to the prompt cache">{formatTokens(cacheTokens)} via cache</span>}
          <span title="estimated from the model's list prices">≈ {formatCost(g?.estimatedCostUsd ?? 0)}</span>
        </div>
        <ChecksPanel checks={state.checks} rounds={state.checkRounds} />
        {status?.state === "failed" && <ErrorNotice error={status.error} context="Following the generation" compact />}
        {cancel.error ? <ErrorNotice error={cancel.error} context="Cancelling" compact /> : null}
      </div>

      <Timeline items={state.items} waiting={!finished} />
      {!finished && <ApprovalCards jobId={jobId} step={state.step ?? g?.step ?? null} />}
      <Outcome state={state} job={g} projectId={projectId} filesKept={filesKept} actions={actions} />
    </div>
  );
}
