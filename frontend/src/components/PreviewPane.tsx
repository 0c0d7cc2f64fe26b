import { useEffect, useRef, useState, type FormEvent } from "react";
import type { DevServerProblem } from "../lib/jobState";
import { DEVICES, previewAddress, previewSandbox, type DeviceId } from "../lib/previewFrame";
import { ShareDialog } from "./ShareDialog";

/** The dev server did not answer: its problem and last output instead of a blank frame. */
function PreviewProblem({ url, building, problem }: { url: string | null; building: boolean; problem: DevServerProblem }) {
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
      <div className="muted small">{building ? "The agent is still working and checks the server again when it finishes." : "Ask for a fix in a follow-up prompt, for example: “the preview does not start, fix the dev server”. The Logs tab shows everything it printed."}</div>
      {url && (
        <a className="btn btn-small" href={url} target="_blank" rel="noreferrer">
          Try the preview in a new tab ↗
        </a>
      )}
    </div>
  );
}

/**
 * Whether the app in `frame` has the keyboard's focus. A frame whose document holds the focus matches
 * neither :focus nor :focus-within in the page (Chromium), so its focus style follows the page's window
 * losing the focus to it, and getting it back.
 */
function useFrameFocus(frame: { current: HTMLIFrameElement | null }): boolean {
  const [focused, setFocused] = useState(false);
  useEffect(() => {
    // Blur comes before the focus moves: look once it has.
    const blur = () => setTimeout(() => setFocused(frame.current !== null && document.activeElement === frame.current));
    const focus = () => setFocused(false);
    window.addEventListener("blur", blur);
    window.addEventListener("focus", focus);
    return () => {
      window.removeEventListener("blur", blur);
      window.removeEventListener("focus", focus);
    };
  }, [frame]);
  return focused;
}

/**
 * The running app in a sandboxed iframe, with a toolbar: device widths, a path bar, reload, fullscreen,
 * open in a new tab and Share. `live`: the agent is still working and its saved edits show up through
 * the dev server's hot reload. `problem`: the dev server did not answer, shown with its last output.
 */
export function PreviewPane({ url, building, live = false, problem = null, projectId }: { url: string | null; building: boolean; live?: boolean; problem?: DevServerProblem | null; projectId?: string }) {
  const [nonce, setNonce] = useState(0);
  const [device, setDevice] = useState<DeviceId>("desktop");
  const [path, setPath] = useState("/");
  const [opened, setOpened] = useState<string | null>(null);
  const stage = useRef<HTMLDivElement>(null);
  const frame = useRef<HTMLIFrameElement>(null);
  const frameFocused = useFrameFocus(frame);
  if (problem) return <PreviewProblem url={url} building={building} problem={problem} />;
  if (!url) {
    return (
      <div className="preview-empty" data-testid="preview-empty">
        <div className="preview-empty-icon" aria-hidden>
          ◎
        </div>
        <div className="preview-empty-title">{building ? "Your app is being built" : "No preview yet"}</div>
        <div className="muted">{building ? "The preview appears here as soon as the dev server answers." : "Describe what you want in the chat: the app appears here as soon as its dev server answers."}</div>
      </div>
    );
  }
  // What the frame shows: the path typed last, on the current link (a renewed signed link keeps the path).
  const src = opened === null ? url : previewAddress(url, opened);
  const width = DEVICES.find((d) => d.id === device)?.width ?? null;
  const go = (event: FormEvent) => {
    event.preventDefault();
    setOpened(path);
    setNonce(nonce + 1);
  };
  return (
    <div className="preview">
      <div className="preview-bar" role="toolbar" aria-label="Preview">
        <button className="icon-btn" title="Reload the preview" onClick={() => setNonce(nonce + 1)} aria-label="Reload preview" data-testid="preview-reload">
          ↻
        </button>
        <div className="device-switch" role="radiogroup" aria-label="Device width">
          {DEVICES.map((d) => (
            <button key={d.id} role="radio" aria-checked={device === d.id} className={`device-btn${device === d.id ? " device-active" : ""}`} onClick={() => setDevice(d.id)} data-testid={`device-${d.id}`} title={d.width ? `${d.label}: ${d.width} px wide` : `${d.label}: the pane's width`}>
              {d.label}
            </button>
          ))}
        </div>
        {live && (
          <span className="badge badge-live" data-testid="preview-live" title="The agent is still working: its edits appear here as it saves them">
            <span className="pulse" />
            Live
          </span>
        )}
        <form className="preview-path" onSubmit={go}>
          <label className="visually-hidden" htmlFor="preview-path">
            Path in the app
          </label>
          <input id="preview-path" value={path} onChange={(e) => setPath(e.target.value)} spellCheck={false} autoComplete="off" data-testid="preview-path" title={src} />
        </form>
        <button className="icon-btn" title="Show the preview full screen (Esc leaves)" aria-label="Full screen" onClick={() => void stage.current?.requestFullscreen?.()} data-testid="preview-fullscreen">
          ⛶
        </button>
        <a className="btn btn-small" href={src} target="_blank" rel="noreferrer" data-testid="open-preview">
          Open ↗<span className="visually-hidden"> the preview in a new tab</span>
        </a>
        {projectId && <ShareDialog projectId={projectId} />}
      </div>
      <div className="preview-stage" ref={stage} data-device={device}>
        <iframe key={nonce} ref={frame} data-focused={frameFocused} className="preview-frame" src={src} title="App preview" data-testid="preview-frame" style={width ? { width, maxWidth: "100%" } : undefined} sandbox={previewSandbox(src, window.location.origin)} />
      </div>
    </div>
  );
}
