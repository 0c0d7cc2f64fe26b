import type { ReactNode } from "react";
import { useAuth } from "../auth";
import { Link } from "../router";

export function TopBar({ children }: { children?: ReactNode }) {
  const { signOut } = useAuth();
  return (
    <header className="topbar">
      <Link to="/" className="logo" aria-label="Kiln: your projects">
        <span className="logo-mark">K</span> Kiln
      </Link>
      <div className="topbar-middle">{children}</div>
      <button className="btn btn-ghost btn-small" onClick={() => signOut()} data-testid="sign-out">
        Sign out
      </button>
    </header>
  );
}
