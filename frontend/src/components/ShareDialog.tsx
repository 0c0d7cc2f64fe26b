import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import type { ShareLink } from "../../../projects/contract";
import { useApi } from "../auth";
import { timeAgo } from "../lib/format";
import { ErrorNotice } from "./ErrorNotice";

const EXPIRIES = [
  { label: "1 hour", seconds: 3600 },
  { label: "1 day", seconds: 24 * 3600 },
  { label: "7 days", seconds: 7 * 24 * 3600 },
  { label: "30 days", seconds: 30 * 24 * 3600 },
];

/** Whether a link still opens the preview, in a word. */
function state(link: ShareLink): "live" | "revoked" | "expired" {
  if (link.revokedAt) return "revoked";
  return Date.parse(link.expiresAt) > Date.now() ? "live" : "expired";
}

/** "Share" on the project page: create a link to the live preview with an expiry, copy it once, list and revoke links. */
export function ShareDialog({ projectId }: { projectId: string }) {
  const api = useApi();
  const queryClient = useQueryClient();
  const [open, setOpen] = useState(false);
  const [seconds, setSeconds] = useState(7 * 24 * 3600);
  const [created, setCreated] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);
  const links = useQuery({ queryKey: ["shares", projectId], queryFn: ({ signal }) => api.projects.listShareLinks({ id: projectId }, { signal }), enabled: open });
  const refresh = () => queryClient.invalidateQueries({ queryKey: ["shares", projectId] });
  const create = useMutation({
    mutationFn: () => api.projects.createShareLink({ id: projectId, expiresInSeconds: seconds }),
    onSuccess: (result) => {
      // On its own host when Kiln runs a share listener (every absolute path the app's), else under /s/ here.
      setCreated(result.url ?? `${window.location.origin}${result.path}`);
      setCopied(false);
      void refresh();
    },
  });
  const revoke = useMutation({ mutationFn: (linkId: string) => api.projects.revokeShareLink({ id: projectId, linkId }), onSuccess: () => void refresh() });

  if (!open) {
    return (
      <button className="btn btn-ghost btn-small" onClick={() => setOpen(true)} data-testid="share-open" aria-haspopup="dialog">
        Share
      </button>
    );
  }
  const copy = async () => {
    if (!created) return;
    await navigator.clipboard.writeText(created).then(() => setCopied(true), () => setCopied(false));
  };
  return (
    <div className="share-dialog card" role="dialog" aria-label="Share the preview" data-testid="share-dialog" onKeyDown={(e) => e.key === "Escape" && setOpen(false)}>
      <div className="card-head">
        <strong>Share the live preview</strong>
        <button className="btn btn-ghost btn-small" onClick={() => setOpen(false)} aria-label="Close" autoFocus>
          ×
        </button>
      </div>
      <p className="muted small">Anyone with the link sees the running app (nothing else of the project) until it expires or you revoke it.</p>
      <div className="create-foot">
        <label className="field">
          Expires after
          <select value={seconds} onChange={(e) => setSeconds(Number(e.target.value))} data-testid="share-expiry">
            {EXPIRIES.map((e) => (
              <option key={e.seconds} value={e.seconds}>
                {e.label}
              </option>
            ))}
          </select>
        </label>
        <button className="btn btn-primary" disabled={create.isPending} onClick={() => create.mutate()} data-testid="share-create">
          {create.isPending ? "Creating…" : "Create link"}
        </button>
      </div>
      {create.error ? <ErrorNotice error={create.error} context="Creating the link" compact /> : null}
      {created && (
        <div className="share-created">
          <input readOnly value={created} aria-label="The new link" data-testid="share-url" onFocus={(e) => e.target.select()} />
          <button className="btn btn-small" onClick={() => void copy()} data-testid="share-copy">
            {copied ? "Copied" : "Copy"}
          </button>
          <span className="muted small">Shown this once: copy it now.</span>
        </div>
      )}
      {links.error ? <ErrorNotice error={links.error} context="Loading the links" compact /> : null}
      {revoke.error ? <ErrorNotice error={revoke.error} context="Revoking the link" compact /> : null}
      <ul className="share-list" data-testid="share-list">
        {(links.data?.links ?? []).map((link) => (
          <li key={link.id} data-testid="share-item" data-state={state(link)}>
            <code>{link.prefix}…</code> <span className="muted small">created {timeAgo(link.createdAt)}</span>{" "}
            <span className="muted small">{state(link) === "live" ? `expires ${new Date(link.expiresAt).toLocaleString()}` : state(link)}</span>
            {state(link) === "live" && (
              <button className="btn btn-ghost btn-small" disabled={revoke.isPending} onClick={() => revoke.mutate(link.id)} data-testid="share-revoke">
                Revoke
              </button>
            )}
          </li>
        ))}
      </ul>
    </div>
  );
}
