import { useQuery } from "@tanstack/react-query";
import { useEffect, useMemo, useState } from "react";
import type { FileInfo } from "../../../vfs/contract";
import { useApi } from "../auth";
import { buildTree, decodeBase64, defaultFile, imageType, languageOf, textOf, type TreeDir } from "../lib/files";
import { formatBytes, timeAgo } from "../lib/format";
import { ErrorNotice } from "./ErrorNotice";
import { highlight } from "./highlight";

function Dir({ dir, depth, selected, onSelect }: { dir: TreeDir; depth: number; selected: string | null; onSelect: (path: string) => void }) {
  const [open, setOpen] = useState(depth < 2);
  return (
    <li>
      <button className="tree-row tree-dir" style={{ paddingLeft: 8 + depth * 12 }} onClick={() => setOpen(!open)} aria-expanded={open}>
        <span className="tree-chev">{open ? "▾" : "▸"}</span>
        {dir.name}
      </button>
      {open && <Entries dir={dir} depth={depth + 1} selected={selected} onSelect={onSelect} />}
    </li>
  );
}

function Entries({ dir, depth, selected, onSelect }: { dir: TreeDir; depth: number; selected: string | null; onSelect: (path: string) => void }) {
  return (
    <ul className="tree-list">
      {dir.dirs.map((d) => (
        <Dir key={d.path} dir={d} depth={depth} selected={selected} onSelect={onSelect} />
      ))}
      {dir.files.map((f) => (
        <li key={f.path}>
          <button
            className={`tree-row tree-file${f.path === selected ? " tree-selected" : ""}`}
            style={{ paddingLeft: 20 + depth * 12 }}
            onClick={() => onSelect(f.path)}
            data-testid="tree-file"
            data-path={f.path}
            title={`${f.path} · ${formatBytes(f.size)}`}
          >
            {f.path.split("/").pop()}
          </button>
        </li>
      ))}
    </ul>
  );
}

function FileViewer({ projectId, file }: { projectId: string; file: FileInfo }) {
  const api = useApi();
  const content = useQuery({
    queryKey: ["file", projectId, file.path, file.sha256],
    queryFn: () => api.vfs.readFile({ projectId, path: file.path }),
    staleTime: Infinity,
  });
  const view = useMemo(() => {
    if (!content.data) return null;
    const bytes = decodeBase64(content.data.contentBase64);
    const text = textOf(bytes);
    if (text === null) {
      const type = imageType(file.path);
      return { kind: "binary" as const, size: bytes.length, image: type ? `data:${type};base64,${content.data.contentBase64}` : null };
    }
    const type = imageType(file.path);
    if (type === "image/svg+xml") return { kind: "binary" as const, size: bytes.length, image: `data:${type};base64,${content.data.contentBase64}`, text };
    return { kind: "text" as const, html: highlight(text, languageOf(file.path)), lines: text.split("\n").length };
  }, [content.data, file.path]);

  return (
    <div className="viewer" data-testid="file-viewer" data-path={file.path}>
      <div className="viewer-head">
        <code className="viewer-path">{file.path}</code>
        <span className="viewer-meta">
          {formatBytes(file.size)} · changed {timeAgo(file.updatedAt)} · rev {file.revision}
        </span>
      </div>
      {content.isPending && <div className="viewer-empty">Loading…</div>}
      {content.error && <ErrorNotice error={content.error} context={`Opening ${file.path}`} onRetry={() => content.refetch()} />}
      {view?.kind === "binary" && (
        <div className="viewer-binary" data-testid="binary-file">
          {view.image && <img src={view.image} alt={file.path} className="viewer-image" />}
          <div>
            Binary file · {formatBytes(view.size)} · not shown as text. Download the ZIP to open it.
          </div>
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
    </div>
  );
}

/** The project's current files from the vfs: a tree on the left, the selected file on the right. */
export function FileBrowser({ projectId, live }: { projectId: string; live: boolean }) {
  const api = useApi();
  const files = useQuery({
    queryKey: ["files", projectId],
    queryFn: () => api.vfs.listFiles({ projectId, recursive: true }),
    refetchInterval: live ? 3000 : false,
  });
  const [selected, setSelected] = useState<string | null>(null);
  const list = files.data?.files ?? [];
  const tree = useMemo(() => buildTree(list), [files.data]);
  useEffect(() => {
    if (files.data && (!selected || !list.some((f) => f.path === selected))) setSelected(defaultFile(list));
  }, [files.data]);
  const file = list.find((f) => f.path === selected) ?? null;

  if (files.error) return <ErrorNotice error={files.error} context="Listing the project's files" onRetry={() => files.refetch()} />;
  return (
    <div className="files">
      <nav className="tree" data-testid="file-tree" aria-label="Project files">
        <div className="tree-title">
          Files <span className="muted">{list.length}</span>
        </div>
        {files.isPending ? <div className="muted pad">Loading…</div> : list.length === 0 ? <div className="muted pad">No files yet. They appear as the agent writes them.</div> : <Entries dir={tree} depth={0} selected={selected} onSelect={setSelected} />}
      </nav>
      {file ? <FileViewer projectId={projectId} file={file} /> : <div className="viewer viewer-empty">Select a file to see it here.</div>}
    </div>
  );
}
