import type { Generation } from "../../../ai/contract";
import { formatCost, timeAgo } from "../lib/format";
import { StatusBadge } from "./StatusBadge";

/** The project's generations, newest first; picking one shows it in the job view. */
export function JobHistory({ jobs, selected, onSelect }: { jobs: Generation[]; selected: string | null; onSelect: (id: string) => void }) {
  if (jobs.length === 0) return null;
  return (
    <ul className="history" data-testid="job-history">
      {jobs.map((job) => (
        <li key={job.id}>
          <button className={`history-row${job.id === selected ? " history-selected" : ""}`} onClick={() => onSelect(job.id)} data-testid="history-item" data-job-id={job.id}>
            <StatusBadge status={job.status} />
            <span className="history-prompt" title={job.prompt}>
              {job.prompt}
            </span>
            <span className="history-meta">
              {formatCost(job.estimatedCostUsd)} · {timeAgo(job.createdAt)}
            </span>
          </button>
        </li>
      ))}
    </ul>
  );
}
