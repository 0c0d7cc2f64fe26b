import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useApi } from "../auth";
import { navigate, projectPath } from "../router";
import { ErrorNotice } from "./ErrorNotice";

/** "Import from git" under the new-project form: a repository's URL becomes a new project; a private one takes a token for that import only. */
export function ImportFromGit() {
  const api = useApi();
  const queryClient = useQueryClient();
  const [open, setOpen] = useState(false);
  const [url, setUrl] = useState("");
  const [token, setToken] = useState("");
  const importGit = useMutation({
    mutationFn: () => api.vfs.importGit({ url: url.trim(), token: token || undefined }),
    // The token is forgotten once it was used: another import asks for it again.
    onSettled: () => setToken(""),
    onSuccess: (result) => {
      void queryClient.invalidateQueries({ queryKey: ["projects"] });
      navigate(projectPath(result.project.id, null));
    },
  });
  if (!open) {
    return (
      <button className="btn btn-ghost btn-small" onClick={() => setOpen(true)} data-testid="import-git-open">
        Import from git
      </button>
    );
  }
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (url.trim()) importGit.mutate();
  };
  return (
    <form className="create git-import" onSubmit={submit} data-testid="import-git">
      <input
        className="create-name"
        value={url}
        onChange={(e) => setUrl(e.target.value)}
        placeholder="https://github.com/owner/repo.git"
        aria-label="Repository URL"
        data-testid="import-git-url"
      />
      <input
        type="password"
        value={token}
        onChange={(e) => setToken(e.target.value)}
        placeholder="Token, for a private repository (this import only)"
        aria-label="Token"
        autoComplete="off"
        data-testid="import-git-token"
      />
      <div className="create-foot">
        <span className="muted small">Kiln clones its default branch in a sandbox of the new project; its files become the first version.</span>
        <button className="btn btn-primary" disabled={!url.trim() || importGit.isPending} data-testid="import-git-submit">
          {importGit.isPending ? "Importing…" : "Import"}
        </button>
      </div>
      {importGit.error ? <ErrorNotice error={importGit.error} context="Importing the repository" /> : null}
    </form>
  );
}

/** "Push to git" on a version: its files as one commit to a remote branch, with a token kept for that push only. */
export function PushToGit({ projectId, versionId }: { projectId: string; versionId: string }) {
  const api = useApi();
  const [open, setOpen] = useState(false);
  const [url, setUrl] = useState("");
  const [token, setToken] = useState("");
  const [branch, setBranch] = useState("main");
  const push = useMutation({
    mutationFn: () => api.vfs.pushVersion({ projectId, versionId, url: url.trim(), token: token || undefined, branch: branch.trim() || undefined }),
    // The token is forgotten once it was used: the next push asks for it again.
    onSettled: () => setToken(""),
  });
  if (!open) {
    return (
      <button className="btn btn-small" onClick={() => setOpen(true)} title="Push this version's files to a git remote" data-testid="push-git-open">
        Push to git
      </button>
    );
  }
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (url.trim()) push.mutate();
  };
  return (
    <form className="git-push" onSubmit={submit} data-testid="push-git">
      <input value={url} onChange={(e) => setUrl(e.target.value)} placeholder="https://github.com/owner/repo.git" aria-label="Remote URL" data-testid="push-git-url" />
      <input value={branch} onChange={(e) => setBranch(e.target.value)} placeholder="main" aria-label="Branch" data-testid="push-git-branch" />
      <input type="password" value={token} onChange={(e) => setToken(e.target.value)} placeholder="Token (this push only)" aria-label="Token" autoComplete="off" data-testid="push-git-token" />
      <button className="btn btn-small btn-primary" disabled={!url.trim() || push.isPending} data-testid="push-git-submit">
        {push.isPending ? "Pushing…" : "Push"}
      </button>
      {push.data && (
        <span className="muted small" data-testid="push-git-done">
          Pushed {push.data.files} file{push.data.files === 1 ? "" : "s"} to {push.data.branch}: {push.data.commit.slice(0, 10)}
        </span>
      )}
      {push.error ? <ErrorNotice error={push.error} context="Pushing to git" compact /> : null}
    </form>
  );
}
