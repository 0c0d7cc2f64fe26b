import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import type { Project } from "../../../projects/contract";
import { useApi } from "../auth";
import { ErrorNotice } from "../components/ErrorNotice";
import { ImportFromGit } from "../components/GitForms";
import { NewProjectForm } from "../components/NewProjectForm";
import { ProjectThumbnail } from "../components/ProjectThumbnail";
import { StatusBadge } from "../components/StatusBadge";
import { TopBar } from "../components/TopBar";
import { useTemplate } from "../components/useTemplates";
import { timeAgo } from "../lib/format";
import { Link, projectPath } from "../router";

function LatestJob({ id }: { id: string }) {
  const api = useApi();
  const job = useQuery({ queryKey: ["generation", id], queryFn: () => api.ai.get({ id }), staleTime: 10_000 });
  if (!job.data) return <span className="muted small">Latest job: …</span>;
  return (
    <span className="small card-job" title={job.data.prompt}>
      Latest job: <strong>{job.data.status}</strong> · {timeAgo(job.data.finishedAt ?? job.data.createdAt)}
    </span>
  );
}

function ProjectCard({ project }: { project: Project }) {
  const template = useTemplate(project.template);
  return (
    <div className="card" data-testid="project-card" data-project-id={project.id}>
      {project.thumbnailUrl && <ProjectThumbnail projectId={project.id} version={project.thumbnailUrl} className="card-shot" alt={`${project.name}, as its last check saw it`} />}
      <div className="card-head">
        <Link to={projectPath(project.id)} className="card-name card-link">
          {project.name}
        </Link>
        <StatusBadge status={project.status} />
      </div>
      {project.description && <div className="card-desc">{project.description}</div>}
      {template && (
        <span className="tag tag-template" data-testid="card-template" title={`Started from the ${template.title} template`}>
          {template.title}
        </span>
      )}
      <div className="card-foot">
        {project.latestJobId ? <LatestJob id={project.latestJobId} /> : <span className="muted small">No generations yet</span>}
        <span className="muted small">Updated {timeAgo(project.updatedAt)}</span>
      </div>
      {project.previewUrl && (
        <a className="card-preview" href={project.previewUrl} target="_blank" rel="noreferrer">
          {project.previewUrl.replace(/^https?:\/\//, "")} ↗
        </a>
      )}
    </div>
  );
}

export function ProjectsPage() {
  const api = useApi();
  const projects = useInfiniteQuery({
    queryKey: ["projects"],
    queryFn: ({ pageParam }) => api.projects.list({ limit: 24, cursor: pageParam }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (page) => page.nextCursor ?? undefined,
    refetchInterval: 10_000,
  });
  const list = projects.data?.pages.flatMap((p) => p.projects) ?? [];
  return (
    <div className="page">
      <TopBar />
      <main className="projects">
        <NewProjectForm />
        <ImportFromGit />
        <section>
          <div className="section-head">
            <h2>Your projects</h2>
            <span className="muted small">{list.length > 0 ? `${list.length}${projects.hasNextPage ? "+" : ""}` : ""}</span>
          </div>
          {projects.error ? <ErrorNotice error={projects.error} context="Loading your projects" onRetry={() => projects.refetch()} /> : null}
          {projects.isPending ? (
            <div className="grid">
              {[0, 1, 2].map((i) => (
                <div key={i} className="card card-skeleton" />
              ))}
            </div>
          ) : list.length === 0 && !projects.error ? (
            <div className="empty">No projects yet. Name one above and describe what it should do.</div>
          ) : (
            <div className="grid">
              {list.map((p) => (
                <ProjectCard key={p.id} project={p} />
              ))}
            </div>
          )}
          {projects.hasNextPage && (
            <button className="btn" onClick={() => projects.fetchNextPage()} disabled={projects.isFetchingNextPage}>
              {projects.isFetchingNextPage ? "Loading…" : "Show more"}
            </button>
          )}
        </section>
      </main>
    </div>
  );
}
