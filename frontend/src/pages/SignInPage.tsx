import { useState, type FormEvent } from "react";
import { createClient, isApiError } from "../api/client";
import { useAuth } from "../auth";
import { ErrorNotice } from "../components/ErrorNotice";

/** Sign in with an API token: it is checked against the server before it is kept. */
export function SignInPage() {
  const { signIn, reason } = useAuth();
  const [token, setToken] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [checking, setChecking] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const value = token.trim().replace(/^Bearer\s+/i, "");
    if (!value) return;
    setChecking(true);
    setError(null);
    try {
      await createClient({ baseUrl: import.meta.env.VITE_KILN_API_URL ?? "", token: value }).projects.list({ limit: 1 });
      signIn(value);
    } catch (err) {
      setError(err);
    } finally {
      setChecking(false);
    }
  };

  const rejected = isApiError(error) && error.code === "unauthenticated";
  return (
    <div className="signin">
      <form className="signin-card" onSubmit={submit}>
        <div className="logo logo-large">
          <span className="logo-mark">K</span> Kiln
        </div>
        <h1>Sign in</h1>
        <p className="muted">Paste your Kiln API token. The server printed one when it first started; make another with <code>npm run token -- create</code>.</p>
        {reason && !error && (
          <div className="notice notice-warn" role="alert">
            {reason}
          </div>
        )}
        <label className="field">
          <span>API token</span>
          <input type="password" value={token} onChange={(e) => setToken(e.target.value)} placeholder="kiln_…" autoFocus autoComplete="off" data-testid="token-input" aria-invalid={rejected} />
        </label>
        {rejected ? (
          <div className="notice notice-error" role="alert" data-testid="signin-error">
            <div className="notice-title">That token was not accepted</div>
            <div className="notice-detail">{(error as Error).message}</div>
            <div className="notice-action">Check that you copied all of it, or create a new one with npm run token -- create.</div>
          </div>
        ) : error ? (
          <ErrorNotice error={error} context="Signing in" />
        ) : null}
        <button className="btn btn-primary btn-block" disabled={!token.trim() || checking} data-testid="signin-submit">
          {checking ? "Checking…" : "Sign in"}
        </button>
        <p className="muted small">The token stays in this browser (local storage) and is sent only to this Kiln server.</p>
      </form>
    </div>
  );
}
