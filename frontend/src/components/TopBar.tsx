import type { ReactNode } from "react";
import { useAuth } from "../auth";
import { Link } from "../router";

/**
 * The bar on every signed-in page: the logo (home), the page's own part (`children`: breadcrumbs, a
 * status), the page's actions (`actions`: Download, ...) and the account's (API tokens, Sign out). On a
 * phone it wraps into two rows, the page's part below, so no control covers another.
 */
export function TopBar({ children, actions }: { children?: ReactNode; actions?: ReactNode }) {
  const { signOut } = useAuth();
  return (
    <header className="topbar">
      <Link to="/" className="logo">
        <span className="logo-mark" aria-hidden>
          K
        </span>{" "}
        <span className="logo-word">Kiln</span>
        <span className="visually-hidden">: your projects</span>
      </Link>
      <div className="topbar-middle">{children}</div>
      {actions && <div className="topbar-actions">{actions}</div>}
      <nav className="topbar-account" aria-label="Account">
        <Link to="/tokens" className="btn btn-ghost btn-small" data-testid="nav-tokens">
          API tokens
        </Link>
        <button className="btn btn-ghost btn-small" onClick={() => signOut()} data-testid="sign-out">
          Sign out
        </button>
      </nav>
    </header>
  );
}
