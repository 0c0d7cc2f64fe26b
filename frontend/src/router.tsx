import { useEffect, useState, type AnchorHTMLAttributes, type MouseEvent } from "react";

/** The dashboard's pages. Paths never start with an API prefix (`/projects`, `/vfs`, ...). */
export type Route = { page: "projects" } | { page: "tokens" } | { page: "project"; id: string; job: string | null };

export function parseRoute(pathname: string, search = ""): Route {
  const match = /^\/p\/([^/]+)\/?$/.exec(pathname);
  if (match) return { page: "project", id: decodeURIComponent(match[1]!), job: new URLSearchParams(search).get("job") };
  if (/^\/tokens\/?$/.test(pathname)) return { page: "tokens" };
  return { page: "projects" };
}

export function projectPath(id: string, job?: string | null): string {
  return `/p/${encodeURIComponent(id)}${job ? `?job=${encodeURIComponent(job)}` : ""}`;
}

const listeners = new Set<() => void>();

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (to === window.location.pathname + window.location.search) return;
  if (options.replace) window.history.replaceState(null, "", to);
  else window.history.pushState(null, "", to);
  for (const listener of listeners) listener();
}

export function useRoute(): Route {
  const read = () => parseRoute(window.location.pathname, window.location.search);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const update = () => setRoute(read());
    listeners.add(update);
    window.addEventListener("popstate", update);
    return () => {
      listeners.delete(update);
      window.removeEventListener("popstate", update);
    };
  }, []);
  return route;
}

/** An in-app link: a real `<a href>` (open in new tab works) that navigates without a reload. */
export function Link({ to, onClick, ...rest }: AnchorHTMLAttributes<HTMLAnchorElement> & { to: string }) {
  const handle = (event: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(event);
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(to);
  };
  return <a href={to} onClick={handle} {...rest} />;
}
