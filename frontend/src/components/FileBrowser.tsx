import { useQueries, useQuery } from "@tanstack/react-query";
import { useEffect, useMemo, useState } from "react";
import type { FileInfo } from "../../../vfs/contract";
import { useApi } from "../auth";
import { buildTree, decodeBase64, defaultFile, imageType, languageOf, textOf, type TreeDir } from "../lib/files";
import { formatBytes, timeAgo } from "../lib/format";
import { saveBlob } from "../lib/zip";
import type { OpenRequest } from "./codeView";
import { ErrorNotice } from "./ErrorNotice";
import { highlight } from "./highlight";
import { Patch } from "./Patch";

/** Content search reads files in the browser: at most this many, each at most this large. */
const SEARCH_FILES = 400;
const SEARCH_BYTES = 512 * 1024;

type Select = (path: string) => void;

function Dir({ dir, depth, selected, onSelect }: { dir: TreeDir; depth: number; selected: string | null; onSelect: Select }) {
  const holdsSelected = selected !== null && selected.startsWith(`${dir.path}/`);
  const [open, setOpen] = useState(depth < 2 || holdsSelected);
  useEffect(() => {
    if (holdsSelected) setOpen(true);
  }, [holdsSelected]);
  return (
    <li>
      <button className="tree-row tree-dir" style={{ paddingLeft: 8 + depth * 12 }} onClick={() => setOpen(!open)} aria-expanded={open}>
        <span className="tree-chev" aria-hidden>
          {open ? "▾" : "▸"}
        </span>
        {dir.name}
      </button>
      {open && <Entries dir={dir} depth={depth + 1} selected={selected} onSelect={onSelect} />}
    </li>
  );
}

function FileRow({ file, label, depth, selected, onSelect, detail }: { file: FileInfo; label: string; depth: number; selected: string | null; onSelect: Select; detail?: string }) {
  return (
    <button
      className={`tree-row tree-file${file.path === selected ? " tree-selected" : ""}`}
      style={{ paddingLeft: 20 + depth * 12 }}
      onClick={() => onSelect(file.path)}
      aria-current={file.path === selected ? "true" : undefined}
      data-testid="tree-file"
      data-path={file.path}
      title={`${file.path} · ${formatBytes(file.size)}`}
    >
      <span className="tree-label">{label}</span>
      {detail && <span className="tree-detail">{detail}</span>}
    </button>
  );
}

function Entries({ dir, depth, selected, onSelect }: { dir: TreeDir; depth: number; selected: string | null; onSelect: Select }) {
  return (
    <ul className="tree-list">
      {dir.dirs.map((d) => (
        <Dir key={d.path} dir={d} depth={depth} selected={selected} onSelect={onSelect} />
      ))}
      {dir.files.map((f) => (
        <li key={f.path}>
          <FileRow file={f} label={f.path.split("/").pop()!} depth={depth} selected={selected} onSelect={onSelect} />
        </li>
      ))}
    </ul>
  );
}

/** The query that reads one file (shared by the viewer and content search, so a file is fetched once per revision). */
function useFileQueryOptions(projectId: string) {
  const api = useApi();
  return (file: FileInfo) => ({
    queryKey: ["file", projectId, file.path, file.sha256],
    queryFn: () => api.vfs.readFile({ projectId, path: file.path }),
    staleTime: Infinity,
  });
}

/** A search hit: the file, and the first line holding the text (null when only its name matched). */
interface Hit {
  file: FileInfo;
  line: { number: number; text: string } | null;
}

/** Files whose path holds `needle`, then files whose text does (read in the browser, bounded). */
function useSearch(projectId: string, files: FileInfo[], needle: string): { hits: Hit[]; reading: boolean; skipped: number } {
  const fileQuery = useFileQueryOptions(projectId);
  const lower = needle.toLowerCase();
  const active = lower.length >= 2;
  const readable = active ? files.filter((f) => f.size <= SEARCH_BYTES && imageType(f.path) === null).slice(0, SEARCH_FILES) : [];
  const contents = useQueries({ queries: readable.map((f) => fileQuery(f)) });
  return useMemo(() => {
    if (!lower) return { hits: [], reading: false, skipped: 0 };
    const hits: Hit[] = files.filter((f) => f.path.toLowerCase().includes(lower)).map((file) => ({ file, line: null }));
    const named = new Set(hits.map((h) => h.file.path));
    readable.forEach((file, i) => {
      const data = contents[i]?.data;
      if (!data || named.has(file.path)) return;
      const text = textOf(decodeBase64(data.contentBase64));
      const index = text === null ? -1 : text.toLowerCase().indexOf(lower);
      if (text === null || index < 0) return;
      const number = text.slice(0, index).split("\n").length;
      hits.push({ file, line: { number, text: text.split("\n")[number - 1]!.trim().slice(0, 120) } });
    });
    const eligible = files.filter((f) => f.size <= SEARCH_BYTES && imageType(f.path) === null).length;
    return { hits, reading: contents.some((c) => c.isPending), skipped: active ? files.length - Math.min(eligible, SEARCH_FILES) : 0 };
  }, [lower, files, contents.map((c) => c.dataUpdatedAt).join()]);
}

/** What the generation that last touched `path` changed in it. */
function FileChanges({ projectId, path }: { projectId: string; path: string }) {
  const api = useApi();
  const versions = useQuery({ queryKey: ["versions-recent", projectId], queryFn: ({ signal }) => api.vfs.listVersions({ projectId, limit: 50 }, { signal }) });
  const version = versions.data?.versions.find((v) => v.changes.some((c) => c.path === path)) ?? null;
  const diff = useQuery({
    queryKey: ["version-diff", projectId, version?.id],
    queryFn: ({ signal }) => api.vfs.diffVersion({ projectId, versionId: version!.id }, { signal }),
    enabled: version !== null,
  });
  const error = versions.error ?? diff.error;
  if (error) return <ErrorNotice error={error} context="Loading what changed" compact onRetry={() => (versions.error ? versions.refetch() : diff.refetch())} />;
  if (versions.data && !version) return <div className="viewer-empty">No version in the last 50 changed this file.</div>;
  const file = diff.data?.files.find((f) => f.path === path);
  if (!version || !diff.data) return <div className="viewer-empty">Loading what changed…</div>;
  return (
    <div className="file-changes" data-testid="file-changes">
      <div className="muted small">
        {version.kind === "generation" ? `“${version.prompt ?? "Generation"}”` : `A ${version.kind}`} · {timeAgo(version.createdAt)} · {file?.change ?? "changed"}
      </div>
      {!file ? <div className="muted">No difference.</div> : file.patch === null ? <div className="muted">Too large to show.</div> : file.binary ? <div className="muted">Binary changed.</div> : <Patch patch={file.patch} />}
    </div>
  );
}

function FileViewer({ projectId, file }: { projectId: string; file: FileInfo }) {
  const content = useQuery(useFileQueryOptions(projectId)(file));
  const [mode, setMode] = useState<"file" | "changes">("file");
  const [copied, setCopied] = useState<"copied" | "failed" | null>(null);
  useEffect(() => setCopied(null), [file.path, file.sha256]);
  const bytes = useMemo(() => (content.data ? decodeBase64(content.data.contentBase64) : null), [content.data]);
  const view = useMemo(() => {
    if (!bytes || !content.data) return null;
    const text = textOf(bytes);
    const type = imageType(file.path);
    const image = type ? `data:${type};base64,${content.data.contentBase64}` : null;
    if (text === null || type === "image/svg+xml") return { kind: "binary" as const, text, image };
    return { kind: "text" as const, text, html: highlight(text, languageOf(file.path)), lines: text.split("\n").length };
  }, [bytes, file.path]);
  const name = file.path.split("/").pop()!;
  const copy = () => {
    if (view?.text == null) return;
    navigator.clipboard.writeText(view.text).then(
      () => setCopied("copied"),
      () => setCopied("failed"),
    );
  };
  const download = () => bytes && saveBlob(new Blob([bytes as Uint8Array<ArrayBuffer>]), name);

  return (
    <div className="viewer" data-testid="file-viewer" data-path={file.path}>
      <div className="viewer-head">
        <code className="viewer-path">{file.path}</code>
        <span className="viewer-meta">
          {formatBytes(file.size)} · changed {timeAgo(file.updatedAt)}
        </span>
        <span className="viewer-actions">
          <button className="btn btn-small" aria-pressed={mode === "changes"} onClick={() => setMode(mode === "file" ? "changes" : "file")} data-testid="file-changes-toggle" title="What the generation that last changed this file did to it">
            {mode === "changes" ? "Show file" : "What changed"}
          </button>
          <button className="btn btn-small" onClick={copy} disabled={view?.text == null} data-testid="file-copy" title={view?.text == null ? "A binary file cannot be copied as text" : "Copy the file's text"}>
            {copied === "copied" ? "Copied" : copied === "failed" ? "Copy failed" : "Copy"}
          </button>
          <button className="btn btn-small" onClick={download} disabled={!bytes} data-testid="file-download" title={`Download ${name}`}>
            Download
          </button>
        </span>
      </div>
      {mode === "changes" ? (
        <FileChanges projectId={projectId} path={file.path} />
      ) : (
        <>
          {content.isPending && <div className="viewer-empty">Loading…</div>}
          {content.error && <ErrorNotice error={content.error} context={`Opening ${file.path}`} onRetry={() => content.refetch()} />}
          {view?.kind === "binary" && (
            <div className="viewer-binary" data-testid="binary-file">
              {view.image && <img src={view.image} alt={file.path} className="viewer-image" />}
              <div>Binary file · {formatBytes(bytes?.length ?? 0)} · not shown as text. Download it to open it.</div>
            </div>
          )}
          {view?.kind === "text" && (
            <div className="code-wrap">
              <div className="code-gutter" aria-hidden>
                {Array.from({ length: view.lines }, (_, i) => (
                  <div key={i}>{i + 1}</div>
                ))}
              </div>
              <pre className="code hljs">
                <code dangerouslySetInnerHTML={{ __html: view.html }} />
              </pre>
            </div>
          )}
        </>
      )}
    </div>
  );
}

/**
 * The project's current files from the vfs: a tree (or search results, by name and content) on the
 * left, the selected file on the right with Copy, Download and what its last generation changed.
 * `request` opens a file asked for elsewhere on the page (a Write or Edit card, through codeView).
 */
export function FileBrowser({ projectId, live, request = null }: { projectId: string; live: boolean; request?: OpenRequest | null }) {
  const api = useApi();
  const files = useQuery({
    queryKey: ["files", projectId],
    queryFn: () => api.vfs.listFiles({ projectId, recursive: true }),
    refetchInterval: live ? 3000 : false,
  });
  const [selected, setSelected] = useState<string | null>(request?.path ?? null);
  const [needle, setNeedle] = useState("");
  const list = files.data?.files ?? [];
  const tree = useMemo(() => buildTree(list), [files.data]);
  const search = useSearch(projectId, list, needle.trim());
  useEffect(() => {
    if (request) setSelected(request.path);
  }, [request?.seq]);
  useEffect(() => {
    if (files.data && (!selected || !list.some((f) => f.path === selected))) setSelected(request && list.some((f) => f.path === request.path) ? request.path : defaultFile(list));
  }, [files.data]);
  const file = list.find((f) => f.path === selected) ?? null;

  if (files.error) return <ErrorNotice error={files.error} context="Listing the project's files" onRetry={() => files.refetch()} />;
  return (
    <div className="files">
      <nav className="tree" data-testid="file-tree" aria-label="Project files">
        <div className="tree-title">
          Files <span className="muted">{list.length}</span>
        </div>
        {list.length > 0 && (
          <div className="tree-search">
            <label className="visually-hidden" htmlFor="file-search">
              Search files by name or content
            </label>
            <input id="file-search" type="search" value={needle} onChange={(e) => setNeedle(e.target.value)} placeholder="Search files…" data-testid="file-search" />
          </div>
        )}
        {files.isPending ? (
          <div className="muted pad">Loading…</div>
        ) : list.length === 0 ? (
          <div className="muted pad">No files yet. They appear as the agent writes them.</div>
        ) : needle.trim() ? (
          <div data-testid="search-results">
            <div className="muted small pad" role="status">
              {search.hits.length === 0 ? (search.reading ? "Searching…" : "No file matches.") : `${search.hits.length} file${search.hits.length === 1 ? "" : "s"}${search.reading ? ", still reading…" : ""}`}
              {search.skipped > 0 && ` · ${search.skipped} large or binary file${search.skipped === 1 ? "" : "s"} searched by name only`}
            </div>
            <ul className="tree-list">
              {search.hits.map((hit) => (
                <li key={hit.file.path}>
                  <FileRow file={hit.file} label={hit.file.path} depth={0} selected={selected} onSelect={setSelected} detail={hit.line ? `${hit.line.number}: ${hit.line.text}` : undefined} />
                </li>
              ))}
            </ul>
          </div>
        ) : (
          <Entries dir={tree} depth={0} selected={selected} onSelect={setSelected} />
        )}
      </nav>
      {file ? <FileViewer projectId={projectId} file={file} /> : <div className="viewer viewer-empty">Select a file to see it here.</div>}
    </div>
  );
}
