import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useRef, useState, type FormEvent } from "react";
import { useApi } from "../auth";
import { navigate, projectPath } from "../router";
import { ErrorNotice } from "./ErrorNotice";
import { ExamplePrompts, TemplatePicker, TemplatePickerSkeleton } from "./TemplatePicker";
import { useTemplates } from "./useTemplates";

/** The new-project form at the top of the projects page: a name, a template, and the first prompt. */
export function NewProjectForm() {
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
