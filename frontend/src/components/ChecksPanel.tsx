import { formatDiagnostic } from "../../../ai/contract";
import { CHECK_LABELS, type CheckView } from "../lib/jobState";

const SHOWN_ERRORS = 5;

/**
 * The Checks section of a job card: the latest round of the app's checks (types, build, lint, the dev
 * server, the page in a browser), each passed or failed with its first errors and where they are.
 */
export function ChecksPanel({ checks, rounds }: { checks: CheckView[]; rounds: number }) {
  if (checks.length === 0) return null;
  const failed = checks.filter((c) => c.state === "failed").length;
  const running = checks.some((c) => c.state === "running");
  return (
    <section className="checks" data-testid="checks" aria-label="Checks">
      <div className="checks-head">
        <span className="checks-title">Checks</span>
        <span className="muted small" data-testid="checks-summary">
          {running ? "running…" : failed === 0 ? "all passed" : `${failed} failed`}
          {rounds > 1 ? ` · attempt ${rounds}` : ""}
        </span>
      </div>
      <ul className="checks-list">
        {checks.map((check) => (
          <li key={check.kind} className={`check check-${check.state}`} data-testid="check" data-kind={check.kind} data-state={check.state}>
            <span className="check-mark" aria-hidden>
              {check.state === "running" ? "…" : check.state === "ok" ? "✓" : "✗"}
            </span>
            <span className="check-name">{CHECK_LABELS[check.kind]}</span>
            <span className="check-target mono small" title={check.target}>
              {check.target}
            </span>
            {check.durationMs !== undefined && <span className="muted small">{(check.durationMs / 1000).toFixed(1)} s</span>}
            {check.errors.length > 0 && (
              <ul className="check-errors">
                {check.errors.slice(0, SHOWN_ERRORS).map((error, i) => (
                  <li key={i} className="mono small" data-testid="check-error">
                    {formatDiagnostic(error)}
                  </li>
                ))}
                {check.errors.length > SHOWN_ERRORS && <li className="muted small">and {check.errors.length - SHOWN_ERRORS} more</li>}
              </ul>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
