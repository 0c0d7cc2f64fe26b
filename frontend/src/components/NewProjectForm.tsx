import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import type { Project } from "../../../projects/contract";
import { useApi } from "../auth";
import { navigate, projectPath } from "../router";
import { ErrorNotice } from "./ErrorNotice";
import { sendsOnKey } from "./PromptBox";
import { ExamplePrompts, TemplatePicker, TemplatePickerSkeleton } from "./TemplatePicker";
import { useTemplates } from "./useTemplates";

/**
 * The first run: one prompt box ("What do you want to build?"), the templates and their example
 * prompts. Sending creates the project, named from the prompt unless a name is given, and starts
 * building it; a name alone creates an empty project to describe later.
 */
export function NewProjectForm() {
  const api = useApi();
  const queryClient = useQueryClient();
  const templates = useTemplates();
  const [name, setName] = useState("");
  const [prompt, setPrompt] = useState("");
  const [picked, setPicked] = useState<string | null>(null);
  // A project created whose first generation did not start: sending again starts it, never a second project.
  const [created, setCreated] = useState<Project | null>(null);
  const promptField = useRef<HTMLTextAreaElement>(null);
  // The server's default until the person picks another; without the list, the server picks.
  const template = templates.data?.templates.find((t) => t.name === (picked ?? templates.data.defaultTemplate));
  const text = prompt.trim();
  const create = useMutation({
    mutationFn: async () => {
      const project = created ?? (await api.projects.create({ name: name.trim() || undefined, description: text.slice(0, 2000) || undefined, template: template?.name }));
      setCreated(project);
      const job = text ? await api.ai.start({ projectId: project.id, prompt: text }) : null;
      return { project, job };
    },
    onSuccess: ({ project, job }) => {
      void queryClient.invalidateQueries({ queryKey: ["projects"] });
      navigate(projectPath(project.id, job?.id));
    },
  });
  const ready = (text !== "" || name.trim() !== "") && !create.isPending;
  const why = create.isPending ? "Creating the project…" : ready ? null : "Describe what you want to build first (or name an empty project below).";
  const submit = (event?: FormEvent) => {
    event?.preventDefault();
    if (ready) create.mutate();
  };
  const onKey = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (sendsOnKey(event)) {
      event.preventDefault();
      submit();
    }
  };
  return (
    <form className="create" onSubmit={submit} data-testid="create-project">
      <h1>
        <label htmlFor="new-project-prompt">What do you want to build?</label>
      </h1>
      <textarea
        id="new-project-prompt"
        ref={promptField}
        className="create-prompt"
        value={prompt}
        onChange={(e) => setPrompt(e.target.value)}
        onKeyDown={onKey}
        placeholder="A todo list with dark mode, a landing page for my bakery…"
        rows={3}
        maxLength={20_000}
        autoFocus
        aria-describedby="new-project-hint"
        data-testid="project-prompt"
      />
      {templates.data && template ? (
        <>
          <ExamplePrompts
            template={template}
            onPick={(example) => {
              setPrompt(example);
              promptField.current?.focus();
            }}
          />
          <TemplatePicker templates={templates.data.templates} value={template.name} onChange={setPicked} disabled={create.isPending || created !== null} />
        </>
      ) : templates.error ? (
        <ErrorNotice error={templates.error} context="Loading the templates (the project gets the server's default)" onRetry={() => templates.refetch()} compact />
      ) : (
        <TemplatePickerSkeleton />
      )}
      <label className="create-name-label" htmlFor="new-project-name">
        Project name <span className="muted">(optional: named from your prompt, you can rename it later)</span>
      </label>
      <input id="new-project-name" className="create-name" value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. Bakery site" maxLength={100} disabled={created !== null} data-testid="project-name" />
      <div className="create-foot">
        <span className="small create-hint" id="new-project-hint" data-testid="create-hint">
          {why ?? (text ? "Enter to build · Shift+Enter for a new line" : "Creates an empty project: describe it on its page.")}
        </span>
        <button className="btn btn-primary" disabled={!ready} title={why ?? undefined} aria-describedby="new-project-hint" data-testid="create-submit">
          {create.isPending ? "Creating…" : text ? "Create & build" : "Create project"}
        </button>
      </div>
      {create.error ? <ErrorNotice error={create.error} context={created ? "Starting the first generation (the project exists: send again to start it)" : "Creating the project"} /> : null}
    </form>
  );
}
