import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import type { Project } from "../../../projects/contract";
import { useApi } from "../auth";
import { ErrorNotice } from "../components/ErrorNotice";
import { StatusBadge } from "../components/StatusBadge";
import { TopBar } from "../components/TopBar";
import { timeAgo } from "../lib/format";
import { Link, navigate, projectPath } from "../router";

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
  return (
    <div className="card" data-testid="project-card" data-project-id={project.id}>
      <div className="card-head">
        <Link to={projectPath(project.id)} className="card-name card-link">
          {project.name}
        </Link>
        <StatusBadge status={project.status} />
      </div>
      {project.description && <div className="card-desc">{project.description}</div>}
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

function CreateProject() {
  const api = useApi();
  const queryClient = useQueryClient();
  const [name, setName] = useState("");
  const [prompt, setPrompt] = useState("");
  const create = useMutation({
    mutationFn: async () => {
      const project = await api.projects.create({ name: name.trim(), description: prompt.trim().slice(0, 2000) || undefined });
      const job = prompt.trim() ? await api.ai.start({ projectId: project.id, prompt: prompt.trim() }) : null;
      return { project, job };
    },
    onSuccess: ({ project, job }) => {
      void queryClient.invalidateQueries({ queryKey: ["projects"] });
      navigate(projectPath(project.id, job?.id));
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (name.trim()) create.mutate();
  };
  return (
    <form className="create" onSubmit={submit} data-testid="create-project">
      <h1>What do you want to build?</h1>
      <input className="create-name" value={name} onChange={(e) => setName(e.target.value)} placeholder="Project name" maxLength={100} aria-label="Project name" data-testid="project-name" />
      <textarea className="create-prompt" value={prompt} onChange={(e) => setPrompt(e.target.value)} placeholder="Describe your app (optional): a todo list with dark mode, a landing page for my bakery…" rows={3} aria-label="First prompt" data-testid="project-prompt" />
      <div className="create-foot">
        <span className="muted small">{prompt.trim() ? "Kiln creates the project and starts building right away." : "Leave the description empty to create an empty project."}</span>
        <button className="btn btn-primary" disabled={!name.trim() || create.isPending} data-testid="create-submit">
          {create.isPending ? "Creating…" : prompt.trim() ? "Create & build" : "Create project"}
        </button>
      </div>
      {create.error ? <ErrorNotice error={create.error} context="Creating the project" /> : null}
    </form>
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
        <CreateProject />
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
