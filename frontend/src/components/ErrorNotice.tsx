import { humanize } from "../lib/humanize";

/** An error in words, with what to do next and an optional retry. */
export function ErrorNotice({ error, context, onRetry, compact }: { error: unknown; context?: string; onRetry?: () => void; compact?: boolean }) {
  const h = humanize(error, context);
  return (
    <div className={`notice notice-error${compact ? " notice-compact" : ""}`} role="alert">
      <div className="notice-title">{h.title}</div>
      {h.detail && <div className="notice-detail">{h.detail}</div>}
      <div className="notice-action">{h.action}</div>
      {onRetry && (
        <button className="btn btn-small" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}
