import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useReducer, useRef, useState } from "react";
import { FILE_TOOLS } from "../../../ai/contract";
import type { GenerationEvent, StreamStatus } from "../api/client";
import { useApi } from "../auth";
import { applyEvent, initialJobState, type JobState } from "../lib/jobState";

type Action = { type: "reset"; jobId: string | null } | { type: "events"; events: GenerationEvent[] };

/** The folded events, with the job they belong to (so a newly selected job never shows the previous one's). */
interface Followed {
  jobId: string | null;
  job: JobState;
}

function reducer(state: Followed, action: Action): Followed {
  if (action.type === "reset") return { jobId: action.jobId, job: initialJobState };
  return { ...state, job: action.events.reduce(applyEvent, state.job) };
}

/** What following a generation gives: its folded events and the stream's connection state. */
export interface GenerationStream {
  state: JobState;
  status: StreamStatus | null;
}

/**
 * Follows one generation's events (replay, then live; reconnecting after drops) and folds them into
 * a JobState. With `refresh` (the project's latest job), what its events change is refetched: the
 * job, the files it writes, the project's status and preview when it ends. An older job of the
 * thread, replayed to be read again, refreshes nothing.
 */
export function useGenerationStream(jobId: string | null, projectId: string, refresh = true): GenerationStream {
  const api = useApi();
  const queryClient = useQueryClient();
  const [followed, dispatch] = useReducer(reducer, { jobId, job: initialJobState });
  const [status, setStatus] = useState<StreamStatus | null>(null);
  const usageTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  useEffect(() => {
    dispatch({ type: "reset", jobId });
    setStatus(null);
    if (!jobId) return;
    // Events arrive in bursts on replay: apply them once per animation frame.
    let batch: GenerationEvent[] = [];
    let frame = 0;
    const flush = () => {
      frame = 0;
      const events = batch;
      batch = [];
      dispatch({ type: "events", events });
    };
    const refreshJob = () => void queryClient.invalidateQueries({ queryKey: ["generation", jobId] });
    const following = api.followGeneration(jobId, {
      onEvent(event) {
        batch.push(event);
        frame ||= window.setTimeout(flush, 16);
        if (!refresh) return;
        if (event.type === "usage" || event.type === "step") {
          clearTimeout(usageTimer.current);
          usageTimer.current = setTimeout(refreshJob, 400);
        }
        if (event.type === "tool_finished" && FILE_TOOLS.has(event.data.name)) {
          void queryClient.invalidateQueries({ queryKey: ["files", projectId] });
        }
        // The server records the early preview on the project too.
        if (event.type === "preview_ready") void queryClient.invalidateQueries({ queryKey: ["project", projectId] });
        if (event.type === "completed" || event.type === "failed" || event.type === "cancelled") {
          refreshJob();
          void queryClient.invalidateQueries({ queryKey: ["project", projectId] });
          void queryClient.invalidateQueries({ queryKey: ["generations", projectId] });
          void queryClient.invalidateQueries({ queryKey: ["files", projectId] });
          void queryClient.invalidateQueries({ queryKey: ["projects"] });
        }
      },
      onStatus: setStatus,
    });
    return () => {
      following.close();
      clearTimeout(frame);
      clearTimeout(usageTimer.current);
    };
  }, [api, jobId, projectId, queryClient, refresh]);

  return { state: followed.jobId === jobId ? followed.job : initialJobState, status };
}
