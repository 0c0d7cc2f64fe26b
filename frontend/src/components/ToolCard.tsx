import { useState } from "react";
import { FILE_TOOLS } from "../../../ai/contract";
import { formatDuration } from "../lib/format";
import { shortInput, toolLabel, type ToolCallView } from "../lib/jobState";
import { useCodeView } from "./codeView";

/** One tool call: name, short input, duration, ok/error, and its output on demand. */
export function ToolCard({ call }: { call: ToolCallView }) {
  const [open, setOpen] = useState(false);
  const summary = shortInput(call.name, call.input);
  const hasDetails = call.state !== "running";
  const codeView = useCodeView();
  const input = (call.input ?? {}) as { path?: unknown };
  const path = FILE_TOOLS.has(call.name) && typeof input.path === "string" ? input.path : null;
  return (
    <div className={`tool-card tool-${call.state}`} data-testid="tool-card" data-tool={call.name} data-state={call.state}>
      <button className="tool-head" onClick={() => hasDetails && setOpen(!open)} aria-expanded={open} disabled={!hasDetails}>
        <span className={`tool-icon tool-icon-${call.state}`} aria-hidden>
          {call.state === "running" ? <span className="spinner" /> : call.state === "ok" ? "✓" : "!"}
        </span>
        <span className="tool-name">{toolLabel(call.name)}</span>
        <code className="tool-input" title={summary}>
          {summary}
        </code>
        <span className="tool-meta">
          {call.state === "error" && <span className="tool-error-label">error</span>}
          {formatDuration(call.durationMs)}
          {hasDetails && <span className="chev">{open ? "▾" : "▸"}</span>}
        </span>
      </button>
      {open && (
        <div className="tool-body">
          {codeView && path && call.state === "ok" && (
            <button className="btn btn-small tool-open" onClick={() => codeView.openFile(path)} data-testid="tool-open-file">
              Open {path} in Code
            </button>
          )}
          <div className="tool-section-label">Input</div>
          <pre className="tool-pre">{JSON.stringify(call.input, null, 2)}</pre>
          <div className="tool-section-label">Output</div>
          <pre className="tool-pre" data-testid="tool-output">
            {call.output || "(no output)"}
          </pre>
        </div>
      )}
    </div>
  );
}
