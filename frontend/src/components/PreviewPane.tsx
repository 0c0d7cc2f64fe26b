import { useState } from "react";
import type { DevServerProblem } from "../lib/jobState";

/**
 * The running app in an iframe, with reload and open-in-new-tab. `live`: the agent is still working
 * and its saved edits show up through the dev server's hot reload. `problem`: the dev server did not
 * answer, shown with its last output instead of a blank frame.
 */
export function PreviewPane({ url, building, live = false, problem = null }: { url: string | null; building: boolean; live?: boolean; problem?: DevServerProblem | null }) {
  const [nonce, setNonce] = useState(0);
  if (problem) {
    return (
      <div className="preview-problem" role="alert" data-testid="preview-problem">
        <div className="preview-problem-title">The app's dev server does not answer</div>
        <div className="preview-problem-text" data-testid="preview-problem-text">
          {problem.problem}
        </div>
        {problem.logTail.trim() ? (
          <>
            <div className="tool-section-label">Its last output</div>
            <pre className="tool-pre preview-log" data-testid="preview-log">
              {problem.logTail}
            </pre>
          </>
        ) : (
          <div className="muted small">It printed nothing.</div>
        )}
        <div className="muted small">{building ? "The agent is still working and checks the server again when it finishes." : "Ask for a fix in a follow-up prompt, for example: “the preview does not start, fix the dev server”."}</div>
        {url && (
          <a className="btn btn-small" href={url} target="_blank" rel="noreferrer">
            Try the preview in a new tab ↗
          </a>
        )}
      </div>
    );
  }
  if (!url) {
    return (
      <div className="preview-empty" data-testid="preview-empty">
        <div className="preview-empty-icon">◎</div>
        <div className="preview-empty-title">{building ? "Your app is being built" : "No preview yet"}</div>
        <div className="muted">{building ? "The preview appears here as soon as the dev server answers." : "Describe what you want on the left: the app appears here as soon as its dev server answers."}</div>
      </div>
    );
  }
  return (
    <div className="preview">
      <div className="preview-bar">
        <button className="icon-btn" title="Reload the preview" onClick={() => setNonce(nonce + 1)} aria-label="Reload preview">
          ↻
        </button>
        {live && (
          <span className="badge badge-live" data-testid="preview-live" title="The agent is still working: its edits appear here as it saves them">
            <span className="pulse" />
            Live
          </span>
        )}
        <div className="preview-url" title={url}>
          {url}
        </div>
        <a className="btn btn-small" href={url} target="_blank" rel="noreferrer" data-testid="open-preview">
          Open in new tab ↗
        </a>
      </div>
      <iframe key={nonce} className="preview-frame" src={url} title="App preview" data-testid="preview-frame" sandbox="allow-scripts allow-forms allow-same-origin allow-popups allow-modals" />
    </div>
  );
}
