import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import type { Version } from "../../../vfs/contract";
import { useApi } from "../auth";
import { timeAgo } from "../lib/format";
import { navigate, projectPath } from "../router";
import { ErrorNotice } from "./ErrorNotice";
import { PushToGit } from "./GitForms";
import { Patch } from "./Patch";
import { StatusBadge } from "./StatusBadge";

const PAGE = 20;

/** What a version is, in a line: its prompt, or what made it. */
function title(version: Version, byId: Map<string, Version>): string {
  if (version.kind === "generation") return version.prompt ?? "Generation";
  if (version.kind === "import") return "Imported from git";
  const source = version.source ? byId.get(version.source.versionId) : undefined;
  const from = source?.prompt ? ` “${source.prompt}”` : source ? ` from ${timeAgo(source.createdAt)}` : "";
  return version.kind === "restore" ? `Restored the version${from}` : `Forked from the version${from}`;
}

/** "3 files · +12 −4": what a version changed against the one before it. */
function changeSummary(version: Version): string {
  const added = version.changes.reduce((sum, c) => sum + (c.linesAdded ?? 0), 0);
  const removed = version.changes.reduce((sum, c) => sum + (c.linesRemoved ?? 0), 0);
  const files = version.changes.length;
  return `${files} file${files === 1 ? "" : "s"} · +${added} −${removed}`;
}

/** A version's screenshot, when its generation's check took one. */
function VersionThumbnail({ projectId, version }: { projectId: string; version: Version }) {
  const api = useApi();
  const thumbnail = useQuery({
    queryKey: ["version-thumbnail", projectId, version.id],
    queryFn: ({ signal }) => api.vfs.versionThumbnail({ projectId, versionId: version.id }, { signal }),
    enabled: version.thumbnailSha256 !== null,
    staleTime: Infinity,
    retry: false,
  });
  if (!thumbnail.data) return <div className="version-shot version-shot-empty" />;
  return <img className="version-shot" src={`data:image/png;base64,${thumbnail.data.pngBase64}`} alt="" width={1280} height={800} data-testid="version-thumbnail" />;
}

/** The diff of a version against the one before it, file by file. */
function VersionDiffView({ projectId, versionId }: { projectId: string; versionId: string }) {
  const api = useApi();
  const diff = useQuery({ queryKey: ["version-diff", projectId, versionId], queryFn: ({ signal }) => api.vfs.diffVersion({ projectId, versionId }, { signal }) });
  if (diff.error) return <ErrorNotice error={diff.error} context="Loading the diff" compact onRetry={() => diff.refetch()} />;
  if (!diff.data) return <div className="muted">Loading the diff…</div>;
  if (diff.data.files.length === 0) return <div className="muted">No file changed.</div>;
  return (
    <div className="version-diff" data-testid="version-diff">
      {diff.data.files.map((file) => (
        <details key={file.path} open={diff.data.files.length <= 5} data-testid="diff-file" data-path={file.path}>
          <summary>
            <span className={`change change-${file.change}`}>{file.change}</span> {file.path}
            {file.linesAdded !== null && <span className="muted"> +{file.linesAdded} −{file.linesRemoved}</span>}
          </summary>
          {file.patch === null ? (
            <div className="muted">Too large to show.</div>
          ) : file.binary ? (
            <div className="muted">Binary changed.</div>
          ) : (
            <Patch patch={file.patch} />
          )}
        </details>
      ))}
    </div>
  );
}

/**
 * The project's versions, newest first, a page at a time: thumbnail, prompt, time and files changed.
 * Picking one shows its diff against the one before it, with Restore (after a confirmation; not while a
 * generation runs) and Fork (opens the new project).
 */
export function VersionHistory({ projectId, generating }: { projectId: string; generating: boolean }) {
  const api = useApi();
  const queryClient = useQueryClient();
  const [selected, setSelected] = useState<string | null>(null);
  const [confirming, setConfirming] = useState(false);
  const versions = useInfiniteQuery({
    queryKey: ["versions", projectId],
    queryFn: ({ pageParam, signal }) => api.vfs.listVersions({ projectId, limit: PAGE, ...(pageParam ? { cursor: pageParam } : {}) }, { signal }),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.nextCursor,
  });
  const list = versions.data?.pages.flatMap((p) => p.versions) ?? [];
  const byId = new Map(list.map((v) => [v.id, v]));
  const restore = useMutation({
    mutationFn: (versionId: string) => api.vfs.restoreVersion({ projectId, versionId }),
    onSuccess: (result) => {
      setConfirming(false);
      setSelected(result.version.id);
      for (const key of [["versions", projectId], ["files", projectId], ["project", projectId]]) void queryClient.invalidateQueries({ queryKey: key });
    },
  });
  const fork = useMutation({
    mutationFn: (versionId: string) => api.vfs.forkVersion({ projectId, versionId }),
    onSuccess: (result) => navigate(projectPath(result.project.id, null)),
  });

  if (versions.error) return <ErrorNotice error={versions.error} context="Loading the versions" onRetry={() => versions.refetch()} />;
  if (!versions.data) return <div className="muted version-panel">Loading the versions…</div>;
  if (list.length === 0) return <div className="muted version-panel">No versions yet: each generation leaves one when it ends.</div>;
  const current = selected ? byId.get(selected) : undefined;
  return (
    <div className="version-panel" data-testid="version-history">
      <ul className="history versions">
        {list.map((version, i) => (
          <li key={version.id}>
            <button
              className={`version-row${version.id === selected ? " history-selected" : ""}`}
              onClick={() => {
                setSelected(version.id);
                setConfirming(false);
                restore.reset();
              }}
              data-testid="version-item"
              data-version-id={version.id}
              data-kind={version.kind}
            >
              <VersionThumbnail projectId={projectId} version={version} />
              <span className="version-text">
                <span className="history-prompt" title={version.prompt ?? undefined}>
                  {title(version, byId)}
                </span>
                <span className="history-meta">
                  {i === 0 ? "current · " : ""}
                  {timeAgo(version.createdAt)} · <span data-testid="version-changes">{changeSummary(version)}</span>
                </span>
              </span>
              {version.kind === "generation" && <StatusBadge status={version.status} />}
            </button>
          </li>
        ))}
      </ul>
      {versions.hasNextPage && (
        <button className="btn btn-ghost btn-small" onClick={() => versions.fetchNextPage()} disabled={versions.isFetchingNextPage} data-testid="versions-more">
          {versions.isFetchingNextPage ? "Loading…" : "Older versions"}
        </button>
      )}
      {current && (
        <div className="version-detail" data-testid="version-detail">
          <div className="version-actions">
            {confirming ? (
              <span className="confirm" data-testid="restore-confirm">
                Replace the project's files with this version? The current ones stay in the history.
                <button className="btn btn-small btn-primary" onClick={() => restore.mutate(current.id)} disabled={restore.isPending} data-testid="restore-confirm-yes">
                  {restore.isPending ? "Restoring…" : "Restore"}
                </button>
                <button className="btn btn-small btn-ghost" onClick={() => setConfirming(false)}>
                  Cancel
                </button>
              </span>
            ) : (
              <button
                className="btn btn-small"
                onClick={() => setConfirming(true)}
                disabled={generating || current.id === list[0]?.id}
                title={generating ? "A generation is running: restore when it ends" : current.id === list[0]?.id ? "This is the current version" : "Make this version's files the project's again"}
                data-testid="restore-version"
              >
                Restore
              </button>
            )}
            <button className="btn btn-small" onClick={() => fork.mutate(current.id)} disabled={fork.isPending} title="A new project with this version's files" data-testid="fork-version">
              {fork.isPending ? "Forking…" : "Fork"}
            </button>
            <PushToGit key={current.id} projectId={projectId} versionId={current.id} />
          </div>
          {restore.error ? <ErrorNotice error={restore.error} context="Restoring the version" compact /> : null}
          {fork.error ? <ErrorNotice error={fork.error} context="Forking the project" compact /> : null}
          {current.summary && <div className="muted version-summary">{current.summary}</div>}
          <VersionDiffView projectId={projectId} versionId={current.id} />
        </div>
      )}
    </div>
  );
}
