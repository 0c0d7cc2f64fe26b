import { useInfiniteQuery } from "@tanstack/react-query";
import { useEffect, useMemo, useState } from "react";
import type { Project } from "../../../projects/contract";
import { useApi } from "../auth";
import { ErrorNotice } from "./ErrorNotice";
import { ProjectCard } from "./ProjectCard";

const PAGE = 24;
/** Searching or sorting loads the whole list first, up to this many projects. */
const ALL_AT_MOST = 1000;

/** The orders the list can be shown in (the server's is "updated"). */
const SORTS = {
  updated: { label: "Last updated", compare: (a: Project, b: Project) => b.updatedAt.localeCompare(a.updatedAt) },
  created: { label: "Newest first", compare: (a: Project, b: Project) => b.createdAt.localeCompare(a.createdAt) },
  oldest: { label: "Oldest first", compare: (a: Project, b: Project) => a.createdAt.localeCompare(b.createdAt) },
  name: { label: "Name (A–Z)", compare: (a: Project, b: Project) => a.name.localeCompare(b.name, undefined, { sensitivity: "base", numeric: true }) },
} as const;
type SortKey = keyof typeof SORTS;

/** Whether a project matches what was typed: every word in its name or description. */
function matches(project: Project, query: string): boolean {
  const haystack = `${project.name}\n${project.description}`.toLocaleLowerCase();
  return query
    .toLocaleLowerCase()
    .split(/\s+/)
    .filter(Boolean)
    .every((word) => haystack.includes(word));
}

/** "Your projects": the caller's projects as cards, searchable by name and description, in the order picked. */
export function ProjectList() {
  const api = useApi();
  const [query, setQuery] = useState("");
  const [sort, setSort] = useState<SortKey>("updated");
  const projects = useInfiniteQuery({
    queryKey: ["projects"],
    queryFn: ({ pageParam }) => api.projects.list({ limit: PAGE, cursor: pageParam }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (page) => page.nextCursor ?? undefined,
    refetchInterval: 10_000,
  });
  const loaded = projects.data?.pages.flatMap((p) => p.projects) ?? [];
  const wantsAll = query.trim() !== "" || sort !== "updated";
  // A search or another order covers every project, not only the pages already shown.
  useEffect(() => {
    if (wantsAll && projects.hasNextPage && !projects.isFetchingNextPage && loaded.length < ALL_AT_MOST) void projects.fetchNextPage();
  }, [wantsAll, projects.hasNextPage, projects.isFetchingNextPage, loaded.length]);
  const shown = useMemo(() => loaded.filter((p) => matches(p, query)).sort(SORTS[sort].compare), [projects.data, query, sort]);

  return (
    <section aria-labelledby="projects-heading">
      <div className="section-head projects-head">
        <h2 id="projects-heading">Your projects</h2>
        <span className="muted small" data-testid="project-count">
          {loaded.length > 0 ? (query.trim() ? `${shown.length} of ${loaded.length}${projects.hasNextPage ? "+" : ""}` : `${loaded.length}${projects.hasNextPage ? "+" : ""}`) : ""}
        </span>
        <span className="spacer" />
        {loaded.length > 0 && (
          <div className="projects-tools">
            <label className="visually-hidden" htmlFor="project-search">
              Search projects
            </label>
            <input id="project-search" type="search" value={query} onChange={(e) => setQuery(e.target.value)} placeholder="Search projects…" data-testid="project-search" />
            <label className="inline-field">
              <span className="muted small">Sort</span>
              <select value={sort} onChange={(e) => setSort(e.target.value as SortKey)} data-testid="project-sort">
                {Object.entries(SORTS).map(([key, s]) => (
                  <option key={key} value={key}>
                    {s.label}
                  </option>
                ))}
              </select>
            </label>
          </div>
        )}
      </div>
      {projects.error ? <ErrorNotice error={projects.error} context="Loading your projects" onRetry={() => projects.refetch()} /> : null}
      {projects.isPending ? (
        <div className="grid">
          {[0, 1, 2].map((i) => (
            <div key={i} className="card card-skeleton" />
          ))}
        </div>
      ) : loaded.length === 0 && !projects.error ? (
        <div className="empty">No projects yet. Describe one above and Kiln builds it.</div>
      ) : shown.length === 0 && !projects.hasNextPage ? (
        <div className="empty" data-testid="no-match">
          No project matches “{query.trim()}”.{" "}
          <button className="btn btn-small" onClick={() => setQuery("")}>
            Clear the search
          </button>
        </div>
      ) : (
        <div className="grid" data-testid="project-grid">
          {shown.map((p) => (
            <ProjectCard key={p.id} project={p} />
          ))}
        </div>
      )}
      {projects.hasNextPage && !wantsAll && (
        <button className="btn" onClick={() => projects.fetchNextPage()} disabled={projects.isFetchingNextPage}>
          {projects.isFetchingNextPage ? "Loading…" : "Show more"}
        </button>
      )}
    </section>
  );
}
