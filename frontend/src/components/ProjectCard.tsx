import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import type { Project } from "../../../projects/contract";
import { useApi } from "../auth";
import { timeAgo } from "../lib/format";
import { Link, navigate, projectPath } from "../router";
import { DangerActions, Dialog } from "./Dialog";
import { ErrorNotice } from "./ErrorNotice";
import { ProjectThumbnail } from "./ProjectThumbnail";
import { StatusBadge } from "./StatusBadge";
import { useTemplate } from "./useTemplates";

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

/** The card's name, or a field to rename the project in place (Enter saves, Esc cancels). */
function RenameForm({ project, onDone }: { project: Project; onDone: () => void }) {
  const api = useApi();
  const queryClient = useQueryClient();
  const [name, setName] = useState(project.name);
  const rename = useMutation({
    mutationFn: () => api.projects.update({ id: project.id, name: name.trim() }),
    onSuccess: (updated) => {
      queryClient.setQueryData(["project", project.id], updated);
      void queryClient.invalidateQueries({ queryKey: ["projects"] });
      onDone();
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (name.trim() === project.name) onDone();
    else if (name.trim()) rename.mutate();
  };
  return (
    <form className="card-rename" onSubmit={submit} onKeyDown={(e) => e.key === "Escape" && onDone()}>
      <label className="visually-hidden" htmlFor={`rename-${project.id}`}>
        New name for {project.name}
      </label>
      <input id={`rename-${project.id}`} value={name} onChange={(e) => setName(e.target.value)} maxLength={100} autoFocus data-testid="rename-input" />
      <button className="btn btn-small btn-primary" disabled={!name.trim() || rename.isPending} data-testid="rename-save">
        {rename.isPending ? "Saving…" : "Save"}
      </button>
      <button type="button" className="btn btn-small btn-ghost" onClick={onDone}>
        Cancel
      </button>
      {rename.error ? <ErrorNotice error={rename.error} context="Renaming the project" compact /> : null}
    </form>
  );
}

/** Delete, after a confirmation that says what goes; purging also removes the files and versions. */
function DeleteDialog({ project, onClose }: { project: Project; onClose: () => void }) {
  const api = useApi();
  const queryClient = useQueryClient();
  const [purge, setPurge] = useState(false);
  const remove = useMutation({
    mutationFn: () => api.projects.del({ id: project.id, purge }),
    onSuccess: () => {
      queryClient.removeQueries({ queryKey: ["project", project.id] });
      void queryClient.invalidateQueries({ queryKey: ["projects"] });
      onClose();
    },
  });
  return (
    <Dialog title={`Delete “${project.name}”?`} onClose={onClose} testId="delete-dialog">
      <p>The project leaves your list and its sandbox and preview are deleted. Share links to it stop working.</p>
      <label className="check-field">
        <input type="checkbox" checked={purge} onChange={(e) => setPurge(e.target.checked)} data-testid="delete-purge" />
        <span>
          Also delete its files and versions now <span className="muted">(cannot be undone; otherwise Kiln keeps them in storage)</span>
        </span>
      </label>
      {remove.error ? <ErrorNotice error={remove.error} context="Deleting the project" compact /> : null}
      <DangerActions onCancel={onClose} onConfirm={() => remove.mutate()} busy={remove.isPending ? "Deleting…" : null} label={purge ? "Delete with its files" : "Delete"} testId="delete-confirm" />
    </Dialog>
  );
}

/** Forks the project's latest version into a new project and opens it. */
function useFork(project: Project) {
  const api = useApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async () => {
      const [latest] = (await api.vfs.listVersions({ projectId: project.id, limit: 1 })).versions;
      if (!latest) throw new Error(`“${project.name}” has no version to fork yet: its first generation makes one.`);
      return api.vfs.forkVersion({ projectId: project.id, versionId: latest.id });
    },
    onSuccess: (result) => {
      void queryClient.invalidateQueries({ queryKey: ["projects"] });
      navigate(projectPath(result.project.id));
    },
  });
}

/** A project on the list: thumbnail, name (truncated, whole in its title), status, template, latest job, and Rename, Fork, Delete. */
export function ProjectCard({ project }: { project: Project }) {
  const template = useTemplate(project.template);
  const [renaming, setRenaming] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const fork = useFork(project);
  return (
    <article className="card" data-testid="project-card" data-project-id={project.id} aria-label={project.name}>
      <ProjectThumbnail projectId={project.id} version={project.thumbnailUrl} className="card-shot" alt={`${project.name}, as its last check saw it`} />
      {renaming ? (
        <RenameForm project={project} onDone={() => setRenaming(false)} />
      ) : (
        <div className="card-head">
          <Link to={projectPath(project.id)} className="card-name card-link" title={project.name} data-testid="card-name">
            {project.name}
          </Link>
          <StatusBadge status={project.status} />
        </div>
      )}
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
      <div className="card-actions">
        <button className="btn btn-ghost btn-small" onClick={() => setRenaming(true)} data-testid="card-rename" aria-label={`Rename ${project.name}`}>
          Rename
        </button>
        <button className="btn btn-ghost btn-small" onClick={() => fork.mutate()} disabled={fork.isPending} data-testid="card-fork" aria-label={`Fork ${project.name}`} title="A new project with a copy of its latest version">
          {fork.isPending ? "Forking…" : "Fork"}
        </button>
        <button className="btn btn-danger-ghost btn-small" onClick={() => setDeleting(true)} data-testid="card-delete" aria-label={`Delete ${project.name}`}>
          Delete
        </button>
      </div>
      {fork.error ? <ErrorNotice error={fork.error} context="Forking the project" compact /> : null}
      {deleting && <DeleteDialog project={project} onClose={() => setDeleting(false)} />}
    </article>
  );
}
