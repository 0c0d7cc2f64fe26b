import { inBatches } from "../lib/batches";
import type { Config } from "../lib/config";
import { AppError } from "../lib/errors";
import { errorFields } from "../lib/log";
import { requireText } from "../lib/validate";
import type { ProjectsApi } from "../projects/contract";
import type { ExecResponse, WorkspaceApi } from "../workspace/contract";
import { backupWorkspace } from "./backup";
import type { VfsApi } from "./contract";
import { branchOf, CHECKOUT_SCRIPT, CLONE_SCRIPT, PUSH_SCRIPT, redact, remoteUrlOf, repositoryName, TOKEN_FILE, tokenOf } from "./git-remote";
import type { VfsLimits } from "./input";
import { projectIdOf } from "./input";
import type { VfsStore } from "./store";
import { readVersion, versionIdOf, type VersionDeps } from "./version-service";
import { runningWorkspace, syncWorkspace } from "./workspace-sync";

/** How big a repository an import takes. */
export interface GitLimits {
  /** The most bytes of files (and of the download): `KILN_GIT_IMPORT_MAX_BYTES`. */
  maxBytes: number;
  /** The most files: `KILN_GIT_IMPORT_MAX_FILES`. */
  maxFiles: number;
}

/** The default import limits (100 MiB, 5,000 files: lib/config.ts's defaults). */
export const DEFAULT_GIT_LIMITS: GitLimits = { maxBytes: 100 * 1024 * 1024, maxFiles: 5000 };

/** The import limits a configuration sets. */
export function gitLimitsOf(config: Pick<Config, "gitImportMaxBytes" | "gitImportMaxFiles">): GitLimits {
  return { maxBytes: config.gitImportMaxBytes, maxFiles: config.gitImportMaxFiles };
}

/** What the git endpoints need: the version endpoints' services, the projects' delete, and the limits. */
export interface GitDeps extends VersionDeps {
  projects: VersionDeps["projects"] & Pick<ProjectsApi, "del">;
  workspace: VersionDeps["workspace"] & Pick<WorkspaceApi, "exec">;
  vfsLimits: VfsLimits;
  gitLimits: GitLimits;
}

/** The git endpoints of the vfs. */
export type GitMethods = Pick<VfsApi, "importGit" | "pushVersion">;

/** How long a clone or a push may take. */
const GIT_TIMEOUT_MS = 300_000;

/** The end of git's own words (its stderr), the token removed: what a failed clone or push says. */
function gitWords(result: ExecResponse, token?: string): string {
  const lines = redact(result.stderr || result.output, token).trim().split("\n").filter(Boolean);
  return lines.slice(-3).join(" / ").slice(0, 600) || `git exited with ${result.exitCode}`;
}

/** The error for a command that did not succeed, saying which limit or what git said. */
function gitFailure(action: "clone" | "push", url: string, result: ExecResponse, limits: GitLimits, token?: string): AppError {
  if (result.timedOut) return new AppError("deadline_exceeded", `the ${action} of ${url} did not finish in ${GIT_TIMEOUT_MS / 1000} s`);
  const words = gitWords(result, token);
  if (action === "clone" && (result.exitCode === 128 + 25 || /file size limit exceeded|signal 25/i.test(words))) {
    return new AppError("invalid_argument", `url: the repository's download is over the import limit of ${limits.maxBytes} bytes (KILN_GIT_IMPORT_MAX_BYTES)`);
  }
  return new AppError("failed_precondition", `git could not ${action} ${url}: ${words}`);
}

/** The git endpoints: import a repository as a new project, push a version to a remote. */
export function gitMethods(deps: GitDeps, using: <T>(run: (store: VfsStore) => Promise<T>) => Promise<T>): GitMethods {
  const { workspace, gitLimits: limits } = deps;
  const exec = (id: string, command: string, env: Record<string, string>, maxOutputBytes = 100_000) =>
    workspace.exec({ id, command, env, timeoutMs: GIT_TIMEOUT_MS, maxOutputBytes });

  /** Clones into the running workspace `id` and checks it out within the limits; the paths not imported. */
  async function cloneInto(id: string, url: string): Promise<string[]> {
    const cloned = await exec(id, CLONE_SCRIPT, { KILN_GIT_URL: url, KILN_GIT_MAX_KB: String(Math.ceil(limits.maxBytes / 1024)) });
    if (cloned.exitCode === 3) throw new AppError("failed_precondition", `${url} has no commits to import`);
    if (cloned.exitCode !== 0) throw gitFailure("clone", url, cloned, limits);
    const [files, bytes] = cloned.stdout.trim().split(" ").map(Number);
    if (!Number.isSafeInteger(files) || !Number.isSafeInteger(bytes)) throw new AppError("internal", `the clone of ${url} did not say how big it is`);
    if (files > limits.maxFiles) {
      throw new AppError("invalid_argument", `url: the repository holds ${files} files, over the import limit of ${limits.maxFiles} files (KILN_GIT_IMPORT_MAX_FILES)`);
    }
    if (bytes > limits.maxBytes) {
      throw new AppError("invalid_argument", `url: the repository's files are ${bytes} bytes, over the import limit of ${limits.maxBytes} bytes (KILN_GIT_IMPORT_MAX_BYTES)`);
    }
    const checkout = await exec(id, CHECKOUT_SCRIPT, {}, 5_000_000);
    if (checkout.exitCode !== 0) throw gitFailure("clone", url, checkout, limits);
    return checkout.stdout.split("\0").filter(Boolean);
  }

  return {
    async importGit(req, auth) {
      const url = remoteUrlOf(req.url);
      const name = req.name === undefined ? repositoryName(url) : requireText("name", req.name, { min: 1, max: 100 });
      const project = await deps.projects.create({ name, description: `Imported from ${url}`, template: "blank" }, auth);
      try {
        const ws = await workspace.create({ projectId: project.id });
        await deps.projects.recordActivity({ id: project.id, workspaceId: ws.id });
        await runningWorkspace(workspace, ws.id);
        const notImported = await cloneInto(ws.id, url);
        return await using(async (s) => {
          const backup = await backupWorkspace(s, workspace, { projectId: project.id, workspaceId: ws.id, label: { label: `import of ${url}` } }, deps.vfsLimits);
          const doc = await s.snapshotDoc(project.id, backup.snapshot.id);
          const version = await s.versions.mark(doc, { kind: "import", status: "completed", prompt: null, summary: `Imported from ${url}`, source: null, thumbnailSha256: null });
          const skipped = [...notImported, ...backup.skipped].sort();
          deps.log.info("project imported from git", { projectId: project.id, url, files: doc.fileCount, bytes: doc.totalBytes, skipped: skipped.length });
          return { project: await deps.projects.get({ id: project.id }, auth), version, skipped };
        });
      } catch (err) {
        // An import that failed leaves no project behind: its workspace goes with it.
        await deps.projects.del({ id: project.id, purge: true }, auth).catch((cleanup: unknown) => deps.log.warn("a failed import's project was not deleted", { projectId: project.id, ...errorFields(cleanup) }));
        throw err;
      }
    },

    async pushVersion(req, auth) {
      const owned = await deps.projects.get({ id: projectIdOf(req.projectId) }, auth);
      const versionId = versionIdOf("versionId", req.versionId);
      const url = remoteUrlOf(req.url);
      const token = tokenOf(req.token);
      const branch = branchOf(req.branch);
      const { doc, files } = await using(async (s) => {
        const found = await s.versions.get(owned.id, versionId);
        return { doc: found, files: await readVersion(s, owned.id, found.files) };
      });
      const message = doc.version.prompt ?? doc.version.summary ?? `Kiln version ${versionId}`;
      // A sandbox of its own, running none of the project's code: nothing in it can read the token or change what is pushed.
      const ws = await workspace.create({ projectId: owned.id });
      try {
        await runningWorkspace(workspace, ws.id);
        await syncWorkspace(workspace, ws.id, files);
        const tokenFile = token ? [{ path: TOKEN_FILE, contentBase64: Buffer.from(token).toString("base64"), mode: 0o600 }] : [];
        await inBatches(tokenFile, (batch) => workspace.writeFiles({ id: ws.id, files: batch }));
        const pushed = await exec(ws.id, PUSH_SCRIPT, { KILN_GIT_URL: url, KILN_GIT_BRANCH: branch, KILN_GIT_MESSAGE: message });
        if (pushed.exitCode !== 0) throw gitFailure("push", url, pushed, limits, token);
        const commit = pushed.stdout.trim().split("\n").pop() ?? "";
        deps.log.info("version pushed to git", { projectId: owned.id, versionId, url, branch, commit, files: files.length });
        return { commit, branch, url, files: files.length };
      } finally {
        await workspace.del({ id: ws.id }).catch((err: unknown) => deps.log.warn("a push's sandbox was not deleted", { workspaceId: ws.id, ...errorFields(err) }));
      }
    },
  };
}
