import { useQuery } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import type { ProjectLogs } from "../../../projects/contract";
import { useApi } from "../auth";
import { ErrorNotice } from "./ErrorNotice";

/** How often the open Logs tab asks for the dev server's output. */
const POLL_MS = 1500;

/** The dev server's state, in a sentence. */
function stateOf(logs: ProjectLogs): string {
  if (logs.workspaceStatus === "none") return "No sandbox yet: the dev server starts with the first generation.";
  if (logs.workspaceStatus !== "running") return `The sandbox is ${logs.workspaceStatus}: the next prompt or a visit to the preview starts it again.`;
  if (!logs.command) return "No dev server was started in this sandbox yet.";
  if (logs.running) return `Running ${logs.command}`;
  return `${logs.command} exited${logs.exitCode !== null ? ` with code ${logs.exitCode}` : ""}.`;
}

/**
 * The Logs tab: what the project's dev server prints, followed live (polled while the tab is open).
 * The text comes cleaned by the server and is shown as text, never as markup. It follows the end unless
 * the reader scrolled up.
 */
export function LogsPane({ projectId }: { projectId: string }) {
  const api = useApi();
  const logs = useQuery({
    queryKey: ["logs", projectId],
    queryFn: ({ signal }) => api.projects.logs({ id: projectId }, { signal }),
    refetchInterval: POLL_MS,
    staleTime: 0,
  });
  const box = useRef<HTMLPreElement>(null);
  const [following, setFollowing] = useState(true);
  const output = logs.data?.output ?? "";
  useEffect(() => {
    if (following && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [output, following]);
  const onScroll = () => {
    const el = box.current;
    if (el) setFollowing(el.scrollHeight - el.scrollTop - el.clientHeight < 24);
  };
  return (
    <div className="logs" data-testid="logs-pane">
      <div className="logs-head">
        <span className={`logs-state${logs.data?.running ? " logs-running" : ""}`} data-testid="logs-state" role="status">
          {logs.data ? stateOf(logs.data) : "Loading the dev server's output…"}
        </span>
        {logs.data?.truncated && <span className="muted small">Showing the last {Math.round(new Blob([output]).size / 1024)} KB</span>}
        <span className="spacer" />
        {!following && (
          <button className="btn btn-small" onClick={() => setFollowing(true)} data-testid="logs-follow">
            Jump to the end
          </button>
        )}
      </div>
      {logs.error ? <ErrorNotice error={logs.error} context="Reading the dev server's output" compact onRetry={() => logs.refetch()} /> : null}
      <pre className="logs-output" ref={box} onScroll={onScroll} tabIndex={0} aria-label="Dev server output" data-testid="logs-output">
        {output || (logs.data ? <span className="muted">It has printed nothing yet.</span> : null)}
      </pre>
    </div>
  );
}
