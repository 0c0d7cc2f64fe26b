import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useRef, useState, type FormEvent } from "react";
import type { Project } from "../../../projects/contract";
import { useApi } from "../auth";
import { ErrorNotice } from "../components/ErrorNotice";
import { ImportFromGit } from "../components/GitForms";
import { ProjectThumbnail } from "../components/ProjectThumbnail";
import { StatusBadge } from "../components/StatusBadge";
import { ExamplePrompts, TemplatePicker, TemplatePickerSkeleton } from "../components/TemplatePicker";
import { TopBar } from "../components/TopBar";
import { useTemplate, useTemplates } from "../components/useTemplates";
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

function CreateProject() {
  const api = useApi();
  const queryClient = useQueryClient();
  const templates = useTemplates();
  const [name, setName] = useState("");
  const [prompt, setPrompt] = useState("");
  const [picked, setPicked] = useState<string | null>(null);
  const promptField = useRef<HTMLTextAreaElement>(null);
  // The server's default until the person picks another; without the list, the server picks.
  const template = templates.data?.templates.find((t) => t.name === (picked ?? templates.data.defaultTemplate));
  const create = useMutation({
    mutationFn: async () => {
      const project = await api.projects.create({ name: name.trim(), description: prompt.trim().slice(0, 2000) || undefined, template: template?.name });
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
      {templates.data && template ? (
        <>
          <TemplatePicker templates={templates.data.templates} value={template.name} onChange={setPicked} disabled={create.isPending} />
          <ExamplePrompts
            template={template}
            onPick={(example) => {
              setPrompt(example);
              promptField.current?.focus();
            }}
          />
        </>
      ) : templates.error ? (
        <ErrorNotice error={templates.error} context="Loading the templates (the project gets the server's default)" onRetry={() => templates.refetch()} compact />
      ) : (
        <TemplatePickerSkeleton />
      )}
      <textarea
        ref={promptField}
        className="create-prompt"
        value={prompt}
        onChange={(e) => setPrompt(e.target.value)}
        placeholder="What should it be? (optional) A todo list with dark mode, a landing page for my bakery…"
        rows={3}
        aria-label="What should it be? (the first prompt)"
        data-testid="project-prompt"
      />
      <div className="create-foot">
        <span className="muted small">
          {prompt.trim() ? "Kiln creates the project and starts building right away." : "Leave it empty to create the project now and describe it later."}
        </span>
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
