import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef } from "react";
import type { Generation } from "../../../ai/contract";
import { useApi } from "../auth";
import { formatCost, formatTokens, timeAgo } from "../lib/format";
import { stepLabel } from "../lib/jobState";
import { ChecksPanel } from "./ChecksPanel";
import { ErrorNotice } from "./ErrorNotice";
import { ProjectThumbnail } from "./ProjectThumbnail";
import { StatusBadge } from "./StatusBadge";
import { ToolCard } from "./ToolCard";
import type { GenerationStream } from "./useGenerationStream";

const ACTIVE = new Set(["queued", "running"]);

/**
 * The live view of one generation: steps, streamed text, tool cards, usage and cost, cancel. The page
 * follows the stream (its preview pane needs the same events) and hands it in.
 */
export function JobView({ jobId, projectId, stream }: { jobId: string; projectId: string; stream: GenerationStream }) {
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
  const bottom = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  useEffect(() => {
    if (stick.current) bottom.current?.scrollIntoView({ block: "end" });
  }, [state.items.length, state.final, state.items[state.items.length - 1]]);

  const g = job.data;
  const finished = state.final !== null || (g !== undefined && !ACTIVE.has(g.status));
  const jobStatus = state.final?.type ?? (g && !ACTIVE.has(g.status) ? g.status : (g?.status ?? "queued"));
  const progress = state.final?.type === "completed" ? 100 : Math.max(state.progress, g?.progress ?? 0);
  const usage = state.usage.inputTokens + state.usage.outputTokens > 0 ? state.usage : g?.usage;
  const cacheTokens = usage ? usage.cacheReadTokens + usage.cacheWriteTokens : 0;

  return (
    <div className="job" data-testid="job-view" data-job-id={jobId} data-job-status={jobStatus}>
      {g && (
        <div className="bubble bubble-user">
          <div className="bubble-text">{g.prompt}</div>
          <div className="bubble-meta">{timeAgo(g.createdAt)}</div>
        </div>
      )}
      {job.error ? <ErrorNotice error={job.error} context="Loading the generation" onRetry={() => job.refetch()} compact /> : null}

      <div className="job-card">
        <div className="job-card-head">
          <StatusBadge status={jobStatus} />
          <span className="job-step" data-testid="job-step">
            {finished ? (jobStatus === "completed" ? "Done" : jobStatus === "cancelled" ? "Cancelled" : "Stopped") : stepLabel(state.step ?? g?.step ?? null)}
          </span>
          <span className="spacer" />
          {!finished && (
            <button className="btn btn-small btn-danger-ghost" onClick={() => cancel.mutate()} disabled={cancel.isPending} data-testid="cancel-job">
              {cancel.isPending ? "Cancelling…" : "Cancel"}
            </button>
          )}
        </div>
        <div className="progress" role="progressbar" aria-valuenow={progress} aria-valuemin={0} aria-valuemax={100} data-testid="job-progress">
          <div className={`progress-bar${finished ? "" : " progress-live"}${jobStatus === "failed" ? " progress-failed" : ""}`} style={{ width: `${progress}%` }} />
        </div>
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
          {g && g.toolCalls > 0 && <span>{g.toolCalls} tool calls</span>}
        </div>
        <ChecksPanel checks={state.checks} rounds={state.checkRounds} />
        {status?.state === "reconnecting" && (
          <div className="stream-status" data-testid="stream-reconnecting">
            Connection lost ({status.reason}). Reconnecting in {Math.ceil(status.inMs / 1000)} s; nothing will be missed.
          </div>
        )}
        {status?.state === "failed" && <ErrorNotice error={status.error} context="Following the generation" compact />}
        {cancel.error ? <ErrorNotice error={cancel.error} context="Cancelling" compact /> : null}
      </div>

      <div className="timeline" data-testid="timeline">
        {state.items.map((item) =>
          item.kind === "text" ? (
            <div key={item.key} className="agent-text" data-testid="agent-text">
              {item.text}
            </div>
          ) : item.kind === "tool" ? (
            <ToolCard key={item.key} call={item.call} />
          ) : (
            <div key={item.key} className={`timeline-note note-${item.tone}`}>
              {item.text}
            </div>
          ),
        )}
        {state.items.length === 0 && !finished && <div className="timeline-empty">Waiting for the agent…</div>}
      </div>

      {state.final?.type === "completed" && (
        <div className="outcome outcome-ok" data-testid="job-outcome">
          <div className="outcome-title">Your app is ready</div>
          {state.final.summary && <div className="outcome-text">{state.final.summary}</div>}
          {state.thumbnail && <ProjectThumbnail projectId={projectId} version={state.thumbnail} className="outcome-shot" alt="The app as the final check saw it" />}
        </div>
      )}
      {(state.final?.type === "failed" || (!state.final && g?.status === "failed")) && (
        <div className="outcome outcome-failed" data-testid="job-outcome">
          <div className="outcome-title">The generation stopped</div>
          <div className="outcome-text">{(state.final?.type === "failed" ? state.final.error : g?.error) ?? "No reason was given."}</div>
          <div className="outcome-hint">Your files are kept. Describe what to fix in a follow-up prompt, or try again.</div>
        </div>
      )}
      {(state.final?.type === "cancelled" || (!state.final && g?.status === "cancelled")) && (
        <div className="outcome outcome-cancelled" data-testid="job-outcome">
          <div className="outcome-title">Cancelled</div>
          <div className="outcome-text">The files written so far are kept. Send a prompt to continue.</div>
        </div>
      )}
      <div ref={bottom} />
    </div>
  );
}
