import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useRef, useState } from "react";
import type { Generation } from "../../../ai/contract";
import { useApi } from "../auth";
import { ConnectionNotice } from "../components/ConnectionNotice";
import { ErrorNotice } from "../components/ErrorNotice";
import { FileBrowser } from "../components/FileBrowser";
import { CodeViewContext, useCodeViewRequests } from "../components/codeView";
import { DownloadZip } from "../components/DownloadZip";
import { LogsPane } from "../components/LogsPane";
import { TerminalPane } from "../components/TerminalPane";
import { jobStatus, type JobActions } from "../components/JobView";
import { PreviewPane } from "../components/PreviewPane";
import { PromptBox, type PromptBoxHandle } from "../components/PromptBox";
import { StatusBadge } from "../components/StatusBadge";
import { Tabs, type TabSpec } from "../components/Tabs";
import { ApprovalModeSetting } from "../components/ApprovalModeSetting";
import { ExamplePrompts } from "../components/TemplatePicker";
import { Thread, useStickToBottom } from "../components/Thread";
import { TopBar } from "../components/TopBar";
import { VersionHistory } from "../components/VersionHistory";
import { useGenerationStream } from "../components/useGenerationStream";
import { usePreviewLink } from "../components/usePreviewLink";
import { useTemplate } from "../components/useTemplates";
import { stepLabel } from "../lib/jobState";
import { Link, navigate, projectPath } from "../router";

const ACTIVE = new Set(["queued", "running"]);
/** A project's status once its latest job ended, as the live stream tells it before the project is refetched. */
const PROJECT_STATUS_AFTER: Record<string, string> = { completed: "ready", failed: "failed", cancelled: "cancelled" };
const THREAD_PAGE = 20;


/** The project page's right-hand tabs; a new tab is one more entry of the list built in ProjectPage. */
export type ProjectTab = "preview" | "code" | "logs" | "terminal" | "history" | "settings";

/**
 * The two-pane project page: the project's one thread (every prompt and what came of it) with the
 * prompt box pinned under it on the left, preview, code and history on the right. On a phone the two
 * panes are one at a time, switched by Chat / Preview.
 */
export function ProjectPage({ projectId, jobParam }: { projectId: string; jobParam: string | null }) {
  const api = useApi();
  const queryClient = useQueryClient();
  const [tab, setTab] = useState<ProjectTab>("preview");
  const [pane, setPane] = useState<"chat" | "preview">("chat");
  // A Write or Edit card opens its file in the Code tab (on a phone, the app's pane).
  const codeView = useCodeViewRequests(
    useCallback(() => {
      setTab("code");
      setPane("preview");
    }, []),
  );
  const promptBox = useRef<PromptBoxHandle>(null);
  const scroller = useRef<HTMLDivElement>(null);
  const content = useRef<HTMLDivElement>(null);
  useStickToBottom(scroller, content);

  const jobs = useInfiniteQuery({
    queryKey: ["generations", projectId],
    queryFn: ({ pageParam }) => api.ai.list({ projectId, limit: THREAD_PAGE, cursor: pageParam }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (page) => page.nextCursor ?? undefined,
    refetchInterval: (q) => (q.state.data?.pages[0]?.generations.some((g) => ACTIVE.has(g.status)) ? 3000 : false),
  });
  const project = useQuery({ queryKey: ["project", projectId], queryFn: () => api.projects.get({ id: projectId }) });
  const files = useQuery({ queryKey: ["files", projectId], queryFn: () => api.vfs.listFiles({ projectId, recursive: true }) });

  const start = useMutation({
    mutationFn: (prompt: string) => api.ai.start({ projectId, prompt }),
    onSuccess: (job) => {
      queryClient.setQueryData(["generation", job.id], job);
      void queryClient.invalidateQueries({ queryKey: ["generations", projectId] });
      void queryClient.invalidateQueries({ queryKey: ["project", projectId] });
      navigate(projectPath(projectId, job.id), { replace: true });
    },
  });

  // Newest first, the job just started included before the list is refetched.
  const listed: Generation[] = jobs.data?.pages.flatMap((page) => page.generations) ?? [];
  const newestFirst = start.data && !listed.some((g) => g.id === start.data.id) ? [start.data, ...listed] : listed;
  const latest = newestFirst[0] ?? null;
  const stream = useGenerationStream(latest?.id ?? null, projectId);
  const latestStatus = latest ? jobStatus(stream.state, latest) : null;
  const active = latestStatus !== null && ACTIVE.has(latestStatus);

  const p = project.data;
  const template = useTemplate(p?.template);
  const projectStatus = active ? "generating" : ((stream.state.final && PROJECT_STATUS_AFTER[stream.state.final.type]) ?? p?.status);
  // A newly completed generation reloads the preview (same URL, new content).
  const lastCompleted = stream.state.final?.type === "completed" ? latest!.id : (newestFirst.find((g) => g.status === "completed")?.id ?? null);
  const earlyPreview = active ? stream.state.preview : null;
  const storedPreview = p?.previewUrl ?? null;
  const freshPreview = usePreviewLink(projectId, storedPreview);
  // The running job's early preview is news only while the project does not store it yet.
  const previewUrl = earlyPreview && earlyPreview.url !== storedPreview ? earlyPreview.url : freshPreview;
  const filesKept = files.data ? files.data.files.length > 0 : null;

  const actions: JobActions = {
    fix: (text) => promptBox.current?.fill(text),
    retry: (prompt) => start.mutate(prompt),
    blocked: active ? "A generation is running" : start.isPending ? "Starting a generation" : null,
  };
  const loaded = jobs.isSuccess && p !== undefined;
  const empty = loaded && newestFirst.length === 0 && p.latestJobId === null;
  const announcement = !latest ? "" : active ? `Generation ${stepLabel(stream.state.step ?? latest.step)}` : `Generation ${latestStatus}`;

  // An empty project invites its first prompt.
  useEffect(() => {
    if (empty) promptBox.current?.focus();
  }, [empty]);

  useEffect(() => {
    if (p) document.title = `${p.name} · Kiln`;
    return () => {
      document.title = "Kiln";
    };
  }, [p?.name]);

  if (project.error && !p) {
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

  const tabs: TabSpec<ProjectTab>[] = [
    {
      id: "preview",
      label: "Preview",
      render: () => (
        <div className="preview-wrap">
          {active && previewUrl && (
            <div className="preview-updating" role="status" data-testid="preview-updating">
              <span className="spinner" aria-hidden /> Updating: the agent's edits appear here as it saves them
            </div>
          )}
          <PreviewPane key={lastCompleted ?? "none"} projectId={projectId} url={previewUrl} building={active} live={active && earlyPreview !== null} problem={latest ? stream.state.devServer : null} />
        </div>
      ),
    },
    { id: "code", label: "Code", render: () => <FileBrowser projectId={projectId} request={codeView.request} live={active} /> },
    { id: "logs", label: "Logs", render: () => <LogsPane projectId={projectId} /> },
    { id: "terminal", label: "Terminal", render: () => <TerminalPane projectId={projectId} /> },
    { id: "history", label: "History", render: () => <VersionHistory projectId={projectId} generating={active} /> },
    { id: "settings", label: "Settings", render: () => (p ? <ApprovalModeSetting project={p} /> : null) },
  ];

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
        {projectStatus && <StatusBadge status={projectStatus} />}
        {p && (
          <span className="tag tag-template" data-testid="project-template" data-template={p.template} title={`Started from the ${template?.title ?? p.template} template`}>
            {template?.title ?? p.template}
          </span>
        )}
        <span className="spacer" />
      </TopBar>
      <div className="visually-hidden" aria-live="polite" data-testid="live-status">
        {announcement}
      </div>
      <ConnectionNotice stream={stream.status} />
      <div className="pane-switch" role="group" aria-label="Show">
        {(["chat", "preview"] as const).map((id) => (
          <button key={id} className={`pane-switch-btn${pane === id ? " pane-switch-on" : ""}`} aria-pressed={pane === id} onClick={() => setPane(id)} data-testid={`pane-${id}`}>
            {id === "chat" ? "Chat" : "Preview"}
          </button>
        ))}
      </div>
      <div className="split" data-pane={pane}>
        <aside className="left" aria-label="Conversation">
          <div className="left-scroll" ref={scroller}>
            <div className="thread-content" ref={content}>
              {project.error ? <ErrorNotice error={project.error} context="Refreshing the project" onRetry={() => project.refetch()} compact /> : null}
              {jobs.error ? <ErrorNotice error={jobs.error} context="Loading the conversation" onRetry={() => jobs.refetch()} compact /> : null}
              {!loaded && !jobs.error ? (
                <div className="thread-loading" aria-busy="true" data-testid="thread-loading">
                  <div className="card-skeleton" />
                  <div className="card-skeleton" />
                </div>
              ) : empty ? (
                <div className="welcome" data-testid="welcome">
                  <div className="welcome-title">What should this project be?</div>
                  <div className="muted">
                    Describe the app you want{template && template.stack.length > 0 ? ` (it starts from the ${template.title} template: ${template.stack.join(", ")})` : ""}. Kiln's agent writes the files in a sandbox, runs them, and shows you the live preview.
                  </div>
                  {template && <ExamplePrompts template={template} onPick={(example) => promptBox.current?.fill(example)} />}
                </div>
              ) : (
                <Thread
                  generations={[...newestFirst].reverse()}
                  projectId={projectId}
                  latestStream={stream}
                  filesKept={filesKept}
                  actions={actions}
                  openJob={jobParam !== latest?.id ? jobParam : null}
                  earlier={{ more: jobs.hasNextPage, loading: jobs.isFetchingNextPage, load: () => void jobs.fetchNextPage() }}
                />
              )}
            </div>
          </div>
          <div className="left-foot">
            {start.error ? <ErrorNotice error={start.error} context="Starting the generation" compact /> : null}
            <PromptBox
              ref={promptBox}
              heading={empty || !latest ? "What do you want to build?" : "Ask for a change"}
              label={latest ? "Send" : "Build"}
              placeholder={latest ? "Add a dark mode, fix the header…" : "A todo list with dark mode, a landing page for my bakery…"}
              disabled={active || !loaded}
              disabledReason={!loaded ? "Loading the project…" : "A generation is running: wait for it or cancel it to send another prompt."}
              busy={start.isPending}
              onSubmit={(prompt) => start.mutateAsync(prompt)}
            />
          </div>
        </aside>
        <section className="right" aria-label="Your app">
          <Tabs className="tabs-wrap" tabs={tabs} value={tab} onChange={setTab} label="Project views" />
        </section>
      </div>
    </div>
    </CodeViewContext.Provider>
  );
}
