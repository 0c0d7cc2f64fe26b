import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState, type FormEvent } from "react";
import type { TokenInfo } from "../../../projects/contract";
import { useApi } from "../auth";
import { DangerActions, Dialog } from "../components/Dialog";
import { ErrorNotice } from "../components/ErrorNotice";
import { TopBar } from "../components/TopBar";
import { timeAgo } from "../lib/format";
import { Link } from "../router";

/** A just-created token, shown once with Copy; it is gone from the page when the panel is dismissed. */
function CreatedToken({ token, name, onDismiss }: { token: string; name: string; onDismiss: () => void }) {
  const [copied, setCopied] = useState<"copied" | "failed" | null>(null);
  const copy = () =>
    navigator.clipboard.writeText(token).then(
      () => setCopied("copied"),
      () => setCopied("failed"),
    );
  return (
    <div className="token-created" role="status" data-testid="token-created">
      <strong>“{name}” is ready. Copy it now: Kiln shows it this once and keeps only its hash.</strong>
      <div className="share-created">
        <input readOnly value={token} aria-label={`The new token “${name}”`} data-testid="token-value" onFocus={(e) => e.target.select()} />
        <button className="btn btn-small" onClick={() => void copy()} data-testid="token-copy">
          {copied === "copied" ? "Copied" : copied === "failed" ? "Copy failed: select it and copy" : "Copy"}
        </button>
        <button className="btn btn-small btn-ghost" onClick={onDismiss} data-testid="token-dismiss">
          Done
        </button>
      </div>
      <span className="muted small">Use it as a bearer token: curl -H "Authorization: Bearer $KILN_TOKEN" {window.location.origin}/projects</span>
    </div>
  );
}

function RevokeDialog({ token, onClose }: { token: TokenInfo; onClose: () => void }) {
  const api = useApi();
  const queryClient = useQueryClient();
  const revoke = useMutation({
    mutationFn: () => api.projects.revokeToken({ id: token.id }),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ["tokens"] });
      onClose();
    },
  });
  return (
    <Dialog title={`Revoke “${token.name}”?`} onClose={onClose} testId="revoke-dialog">
      <p>
        Anything using <code>{token.prefix}…</code> stops working at once. This cannot be undone; you can create a new token.
      </p>
      {revoke.error ? <ErrorNotice error={revoke.error} context="Revoking the token" compact /> : null}
      <DangerActions onCancel={onClose} onConfirm={() => revoke.mutate()} busy={revoke.isPending ? "Revoking…" : null} label="Revoke" testId="revoke-confirm" />
    </Dialog>
  );
}

/** API tokens: create one (its value shown once), see each one's prefix and last use, revoke. */
export function TokensPage() {
  const api = useApi();
  const queryClient = useQueryClient();
  const [name, setName] = useState("");
  const [created, setCreated] = useState<{ token: string; name: string } | null>(null);
  const [revoking, setRevoking] = useState<TokenInfo | null>(null);
  const tokens = useQuery({ queryKey: ["tokens"], queryFn: ({ signal }) => api.projects.listTokens({}, { signal }) });
  const create = useMutation({
    mutationFn: () => api.projects.createToken({ name: name.trim() }),
    onSuccess: (result) => {
      setCreated({ token: result.token, name: result.info.name });
      setName("");
      void queryClient.invalidateQueries({ queryKey: ["tokens"] });
    },
  });
  useEffect(() => {
    document.title = "API tokens · Kiln";
    return () => {
      document.title = "Kiln";
    };
  }, []);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (name.trim()) create.mutate();
  };
  const list = tokens.data?.tokens ?? [];
  return (
    <div className="page">
      <TopBar>
        <Link to="/" className="crumb">
          Projects
        </Link>
        <span className="crumb-sep" aria-hidden>
          /
        </span>
        <span className="crumb-current">API tokens</span>
      </TopBar>
      <main className="tokens">
        <h1>API tokens</h1>
        <p className="muted">A token lets a script, CI or another machine use Kiln's API as you. Give each one its own name, and revoke it when it is no longer needed.</p>
        <form className="token-form" onSubmit={submit}>
          <label className="field" htmlFor="token-name">
            Name
          </label>
          <div className="token-form-row">
            <input id="token-name" value={name} onChange={(e) => setName(e.target.value)} placeholder="laptop, CI, …" maxLength={100} data-testid="token-name" />
            <button className="btn btn-primary" disabled={!name.trim() || create.isPending} data-testid="token-create">
              {create.isPending ? "Creating…" : "Create token"}
            </button>
          </div>
        </form>
        {create.error ? <ErrorNotice error={create.error} context="Creating the token" compact /> : null}
        {created && <CreatedToken token={created.token} name={created.name} onDismiss={() => setCreated(null)} />}
        <section aria-labelledby="tokens-heading">
          <h2 id="tokens-heading">Your tokens</h2>
          {tokens.error ? <ErrorNotice error={tokens.error} context="Loading your tokens" onRetry={() => tokens.refetch()} /> : null}
          {tokens.isPending ? (
            <div className="muted">Loading…</div>
          ) : (
            <table className="token-table" data-testid="token-list">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Token</th>
                  <th scope="col">Created</th>
                  <th scope="col">Last used</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {list.map((t) => (
                  <tr key={t.id} data-testid="token-row" data-state={t.revokedAt ? "revoked" : "active"}>
                    <td className="token-name" title={t.name}>
                      {t.name}
                    </td>
                    <td>
                      <code>{t.prefix}…</code>
                    </td>
                    <td>{timeAgo(t.createdAt)}</td>
                    <td>{t.lastUsedAt ? timeAgo(t.lastUsedAt) : "never"}</td>
                    <td>
                      {t.revokedAt ? (
                        <span className="badge badge-gray">revoked {timeAgo(t.revokedAt)}</span>
                      ) : (
                        <button className="btn btn-danger-ghost btn-small" onClick={() => setRevoking(t)} data-testid="token-revoke" aria-label={`Revoke ${t.name}`}>
                          Revoke
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      </main>
      {revoking && <RevokeDialog token={revoking} onClose={() => setRevoking(null)} />}
    </div>
  );
}
