import { useEffect, useLayoutEffect, useRef, useState, type RefObject } from "react";
import type { Generation } from "../../../ai/contract";
import { formatCost, timeAgo } from "../lib/format";
import { JobView, type JobActions } from "./JobView";
import { StatusBadge } from "./StatusBadge";
import { useGenerationStream, type GenerationStream } from "./useGenerationStream";

/** What an ended generation's collapsed line says after its prompt. */
function outcomeLine(job: Generation): string {
  if (job.status === "completed") return job.summary ?? "Completed";
  if (job.status === "cancelled") return "Cancelled";
  if (job.status === "failed") return `Stopped: ${job.error ?? "no reason given"}`;
  return job.status;
}

/** An earlier generation, replayed from its event log when it is opened (and only then). */
function EarlierJob({ job, projectId, filesKept }: { job: Generation; projectId: string; filesKept: boolean | null }) {
  const stream = useGenerationStream(job.id, projectId, false);
  return <JobView jobId={job.id} projectId={projectId} stream={stream} filesKept={filesKept} />;
}

function ThreadEntry({ job, projectId, filesKept, open: initiallyOpen }: { job: Generation; projectId: string; filesKept: boolean | null; open: boolean }) {
  const [open, setOpen] = useState(initiallyOpen);
  const row = useRef<HTMLLIElement>(null);
  useEffect(() => {
    if (initiallyOpen) row.current?.scrollIntoView({ block: "start" });
  }, [initiallyOpen]);
  return (
    <li className={`thread-entry${open ? " thread-open" : ""}`} ref={row} data-testid="thread-entry" data-job-id={job.id} data-open={open}>
      <button className="thread-summary" onClick={() => setOpen(!open)} aria-expanded={open} data-testid="thread-summary">
        <StatusBadge status={job.status} />
        <span className="thread-prompt">{job.prompt}</span>
        <span className="thread-outcome">{outcomeLine(job)}</span>
        <span className="thread-meta">
          {formatCost(job.estimatedCostUsd)} · {timeAgo(job.createdAt)} <span aria-hidden>{open ? "▾" : "▸"}</span>
        </span>
      </button>
      {open && <EarlierJob job={job} projectId={projectId} filesKept={filesKept} />}
    </li>
  );
}

/**
 * Keeps a scrolling element at its bottom while it grows, as long as the person has not scrolled up
 * (the thread's newest narration stays in view; reading older parts is not interrupted).
 */
export function useStickToBottom(scroller: RefObject<HTMLElement | null>, content: RefObject<HTMLElement | null>): void {
  const stuck = useRef(true);
  useLayoutEffect(() => {
    const el = scroller.current;
    const inner = content.current;
    if (!el || !inner) return;
    const onScroll = () => {
      stuck.current = el.scrollHeight - el.scrollTop - el.clientHeight < 48;
    };
    const observer = new ResizeObserver(() => {
      if (stuck.current) el.scrollTop = el.scrollHeight;
    });
    observer.observe(inner);
    el.addEventListener("scroll", onScroll, { passive: true });
    return () => {
      observer.disconnect();
      el.removeEventListener("scroll", onScroll);
    };
  }, [scroller, content]);
}

/**
 * A project's one conversation, oldest first: every earlier generation as a summary line that opens
 * to its whole story, then the latest in full, followed live. Earlier pages of generations load on
 * demand, so a long thread renders only what is open.
 */
export function Thread({
  generations,
  projectId,
  latestStream,
  filesKept,
  actions,
  openJob,
  earlier,
}: {
  /** Oldest first; the last one is the latest. */
  generations: Generation[];
  projectId: string;
  latestStream: GenerationStream;
  filesKept: boolean | null;
  actions: JobActions;
  /** A generation to open (the page's ?job=). */
  openJob: string | null;
  earlier: { more: boolean; loading: boolean; load(): void };
}) {
  const latest = generations.at(-1);
  if (!latest) return null;
  return (
    <div className="thread" data-testid="thread">
      {earlier.more && (
        <button className="btn btn-ghost btn-small thread-earlier" onClick={earlier.load} disabled={earlier.loading} data-testid="thread-earlier">
          {earlier.loading ? "Loading…" : "Show earlier generations"}
        </button>
      )}
      {generations.length > 1 && (
        <ol className="thread-list" aria-label="Earlier generations">
          {generations.slice(0, -1).map((job) => (
            <ThreadEntry key={job.id} job={job} projectId={projectId} filesKept={filesKept} open={job.id === openJob} />
          ))}
        </ol>
      )}
      <JobView key={latest.id} jobId={latest.id} projectId={projectId} stream={latestStream} filesKept={filesKept} actions={actions} />
    </div>
  );
}
