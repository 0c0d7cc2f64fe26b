import { useState } from "react";

/** The running app in an iframe, with reload and open-in-new-tab. */
export function PreviewPane({ url, building }: { url: string | null; building: boolean }) {
  const [nonce, setNonce] = useState(0);
  if (!url) {
    return (
      <div className="preview-empty" data-testid="preview-empty">
        <div className="preview-empty-icon">◎</div>
        <div className="preview-empty-title">{building ? "Your app is being built" : "No preview yet"}</div>
        <div className="muted">{building ? "The preview appears here as soon as the dev server answers." : "Describe what you want on the left: the preview of the app appears here when the generation completes."}</div>
      </div>
    );
  }
  return (
    <div className="preview">
      <div className="preview-bar">
        <button className="icon-btn" title="Reload the preview" onClick={() => setNonce(nonce + 1)} aria-label="Reload preview">
          ↻
        </button>
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
