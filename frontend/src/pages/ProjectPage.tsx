import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useState } from "react";
import type { Generation } from "../../../ai/contract";
import { useApi } from "../auth";
import { ErrorNotice } from "../components/ErrorNotice";
import { FileBrowser } from "../components/FileBrowser";
import { CodeViewContext, useCodeViewRequests } from "../components/codeView";
import { DownloadZip } from "../components/DownloadZip";
import { LogsPane } from "../components/LogsPane";
import { JobHistory } from "../components/JobHistory";
import { JobView } from "../components/JobView";
import { PreviewPane } from "../components/PreviewPane";
import { PromptBox } from "../components/PromptBox";
import { StatusBadge } from "../components/StatusBadge";
import { TopBar } from "../components/TopBar";
import { VersionHistory } from "../components/VersionHistory";
import { useGenerationStream } from "../components/useGenerationStream";
import { usePreviewLink } from "../components/usePreviewLink";
import { useTemplate } from "../components/useTemplates";
import { Link, navigate, projectPath } from "../router";

const ACTIVE = new Set(["queued", "running"]);


/** The two-pane project page: the conversation and live job on the left, preview and code on the right. */
export function ProjectPage({ projectId, jobParam }: { projectId: string; jobParam: string | null }) {
  const api = useApi();
  const queryClient = useQueryClient();
  const [tab, setTab] = useState<"preview" | "code" | "logs" | "history">("preview");
  // A Write or Edit card opens its file in the Code tab.
  const codeView = useCodeViewRequests(useCallback(() => setTab("code"), []));
  const [showHistory, setShowHistory] = useState(false);

  const jobs = useQuery({
    queryKey: ["generations", projectId],
    queryFn: () => api.ai.list({ projectId, limit: 50 }),
    refetchInterval: (q) => (q.state.data?.generations.some((g) => ACTIVE.has(g.status)) ? 3000 : false),
  });
  const list: Generation[] = jobs.data?.generations ?? [];
  const active = list.find((g) => ACTIVE.has(g.status)) ?? null;
  // A newly completed generation reloads the preview (same URL, new content).
  const lastCompleted = list.find((g) => g.status === "completed")?.id ?? null;
  const project = useQuery({
    queryKey: ["project", projectId],
    queryFn: () => api.projects.get({ id: projectId }),
    refetchInterval: active ? 3000 : false,
  });

  const selected = jobParam ?? project.data?.latestJobId ?? list[0]?.id ?? null;
  const select = (id: string) => navigate(projectPath(projectId, id), { replace: true });
  const template = useTemplate(project.data?.template);
  // The selected job's events drive both its view and the preview: the preview shows the moment the
  // template's dev server answers (preview_ready), long before the job completes.
  const stream = useGenerationStream(selected, projectId);
  const latest = selected !== null && (selected === project.data?.latestJobId || selected === active?.id);
  const working = latest && stream.state.final === null && active?.id === selected;
  const earlyPreview = latest && stream.state.final === null ? stream.state.preview : null;
  const storedPreview = project.data?.previewUrl ?? null;
  const freshPreview = usePreviewLink(projectId, storedPreview);
  // The running job's early preview is news only while the project does not store it yet.
  const previewUrl = earlyPreview && earlyPreview.url !== storedPreview ? earlyPreview.url : freshPreview;
  const devServerProblem = latest ? stream.state.devServer : null;

  const start = useMutation({
    mutationFn: (prompt: string) => api.ai.start({ projectId, prompt }),
    onSuccess: (job) => {
      queryClient.setQueryData(["generation", job.id], job);
      void queryClient.invalidateQueries({ queryKey: ["generations", projectId] });
      void queryClient.invalidateQueries({ queryKey: ["project", projectId] });
      select(job.id);
    },
  });

  useEffect(() => {
    if (project.data) document.title = `${project.data.name} · Kiln`;
    return () => {
      document.title = "Kiln";
    };
  }, [project.data?.name]);

  if (project.error && !project.data) {
    return (
      <div className="page">
        <TopBar />
        <main className="center">
          <ErrorNotice error={project.error} context="Opening the project" onRetry={() => project.refetch()} />
          <Link to="/" className="btn">
            ← Back to your projects
          </Link>
        </main>
      </div>
    );
  }

  const p = project.data;
  const hasJobs = list.length > 0;
  return (
    <CodeViewContext.Provider value={codeView.view}>
    <div className="page page-project">
      <TopBar actions={p ? <DownloadZip projectId={projectId} name={p.name} /> : undefined}>
        <Link to="/" className="crumb">
          Projects
        </Link>
        <span className="crumb-sep">/</span>
        <span className="crumb-current" data-testid="project-title">
          {p?.name ?? "…"}
        </span>
        {p && <StatusBadge status={p.status} />}
        {p && (
          <span className="tag tag-template" data-testid="project-template" data-template={p.template} title={`Started from the ${template?.title ?? p.template} template`}>
            {template?.title ?? p.template}
          </span>
        )}
        <span className="spacer" />
      </TopBar>
      <div className="split">
        <aside className="left">
          <div className="left-scroll">
            {project.error ? <ErrorNotice error={project.error} context="Refreshing the project" onRetry={() => project.refetch()} compact /> : null}
            {hasJobs && (
              <div className="history-toggle">
                <button className="btn btn-ghost btn-small" onClick={() => setShowHistory(!showHistory)} data-testid="toggle-history" aria-expanded={showHistory}>
                  {showHistory ? "Hide" : "Show"} job history ({list.length})
                </button>
              </div>
            )}
            {showHistory && <JobHistory jobs={list} selected={selected} onSelect={select} />}
            {jobs.error ? <ErrorNotice error={jobs.error} context="Loading the job history" onRetry={() => jobs.refetch()} compact /> : null}
            {selected ? (
              <JobView key={selected} jobId={selected} projectId={projectId} stream={stream} />
            ) : (
              !jobs.isPending && (
                <div className="welcome">
                  <div className="welcome-title">Start building</div>
                  <div className="muted">
                    Describe the app you want{template && template.stack.length > 0 ? ` (it starts from the ${template.title} template: ${template.stack.join(", ")})` : ""}. Kiln's agent writes the files in a sandbox, runs them, and shows you the live preview on the right.
                  </div>
                </div>
              )
            )}
          </div>
          <div className="left-foot">
            {start.error ? <ErrorNotice error={start.error} context="Starting the generation" compact /> : null}
            <PromptBox
              label={hasJobs ? "Send" : "Generate"}
              placeholder={hasJobs ? "Ask for a change: add a dark mode, fix the header…" : "Describe the app you want to build…"}
              disabled={active !== null}
              disabledReason="A generation is running: wait for it or cancel it to send another prompt."
              busy={start.isPending}
              onSubmit={(prompt) => start.mutateAsync(prompt)}
            />
          </div>
        </aside>
        <section className="right">
          <div className="tabs" role="tablist">
            <button role="tab" aria-selected={tab === "preview"} className={`tab${tab === "preview" ? " tab-active" : ""}`} onClick={() => setTab("preview")} data-testid="tab-preview">
              Preview
            </button>
            <button role="tab" aria-selected={tab === "code"} className={`tab${tab === "code" ? " tab-active" : ""}`} onClick={() => setTab("code")} data-testid="tab-code">
              Code
            </button>
            <button role="tab" aria-selected={tab === "logs"} className={`tab${tab === "logs" ? " tab-active" : ""}`} onClick={() => setTab("logs")} data-testid="tab-logs">
              Logs
            </button>
            <button role="tab" aria-selected={tab === "history"} className={`tab${tab === "history" ? " tab-active" : ""}`} onClick={() => setTab("history")} data-testid="tab-history">
              History
            </button>
          </div>
          <div className="tab-body">
            {tab === "preview" ? (
              <PreviewPane key={lastCompleted ?? "none"} projectId={projectId} url={previewUrl} building={active !== null} live={working && earlyPreview !== null} problem={devServerProblem} />
            ) : tab === "code" ? (
              <FileBrowser projectId={projectId} request={codeView.request} live={active !== null} />
            ) : tab === "logs" ? (
              <LogsPane projectId={projectId} />
            ) : (
              <VersionHistory projectId={projectId} generating={active !== null} />
            )}
          </div>
        </section>
      </div>
    </div>
    </CodeViewContext.Provider>
  );
}
