import { inBatches } from "../lib/batches";
import type { Config } from "../lib/config";
import { AppError } from "../lib/errors";
import { errorFields } from "../lib/log";
import type { AuthData } from "../lib/routes";
import { requireText } from "../lib/validate";
import type { ProjectsApi } from "../projects/contract";
import type { ExecResponse, WorkspaceApi } from "../workspace/contract";
import { backupWorkspace } from "./backup";
import type { ImportGitResult, PushVersionResult, VfsApi } from "./contract";
import { branchOf, CHECKOUT_SCRIPT, CLONE_SCRIPT, IMPORT_TOKEN_FILE, PUSH_SCRIPT, redact, remoteUrlOf, repositoryName, TOKEN_FILE, tokenOf } from "./git-remote";
import type { VfsLimits } from "./input";
import { projectIdOf } from "./input";
import type { VfsStore } from "./store";
import { readVersion, versionIdOf, type VersionDeps } from "./version-service";
import { runningWorkspace, syncWorkspace } from "./workspace-sync";

/** How big a repository an import takes, and how many imports and pushes run at once. */
export interface GitLimits {
  /** The most bytes of files (and of the download): `KILN_GIT_IMPORT_MAX_BYTES`. */
  maxBytes: number;
  /** The most files: `KILN_GIT_IMPORT_MAX_FILES`. */
  maxFiles: number;
  /** Imports and pushes running at once in this process, everyone's: `KILN_GIT_MAX_CONCURRENT`. */
  maxConcurrent: number;
  /** Imports and pushes running at once for one owner: `KILN_GIT_MAX_CONCURRENT_PER_OWNER`. */
  maxConcurrentPerOwner: number;
}

/** The default limits (lib/config.ts's defaults). */
export const DEFAULT_GIT_LIMITS: GitLimits = { maxBytes: 100 * 1024 * 1024, maxFiles: 5000, maxConcurrent: 4, maxConcurrentPerOwner: 2 };

/** The limits a configuration sets. */
export function gitLimitsOf(config: Pick<Config, "gitImportMaxBytes" | "gitImportMaxFiles" | "gitMaxConcurrent" | "gitMaxConcurrentPerOwner">): GitLimits {
  return { maxBytes: config.gitImportMaxBytes, maxFiles: config.gitImportMaxFiles, maxConcurrent: config.gitMaxConcurrent, maxConcurrentPerOwner: config.gitMaxConcurrentPerOwner };
}

/**
 * Counts the imports and pushes running in this process (each holds a sandbox and a network transfer
 * for up to five minutes): one over either limit is refused at once with 429 naming the limit, never queued.
 */
export function gitSlots(limits: Pick<GitLimits, "maxConcurrent" | "maxConcurrentPerOwner">) {
  const byOwner = new Map<string, number>();
  let total = 0;
  return async <T>(owner: string, run: () => Promise<T>): Promise<T> => {
    const mine = byOwner.get(owner) ?? 0;
    if (mine >= limits.maxConcurrentPerOwner) {
      throw new AppError("resource_exhausted", `you already have ${mine} git imports or pushes running, the limit per user (KILN_GIT_MAX_CONCURRENT_PER_OWNER): wait for one to end`, { limit: "KILN_GIT_MAX_CONCURRENT_PER_OWNER", max: limits.maxConcurrentPerOwner });
    }
    if (total >= limits.maxConcurrent) {
      throw new AppError("resource_exhausted", `${total} git imports and pushes are running on this server, its limit (KILN_GIT_MAX_CONCURRENT): try again in a moment`, { limit: "KILN_GIT_MAX_CONCURRENT", max: limits.maxConcurrent });
    }
    byOwner.set(owner, mine + 1);
    total++;
    try {
      return await run();
    } finally {
      total--;
      const left = (byOwner.get(owner) ?? 1) - 1;
      if (left > 0) byOwner.set(owner, left);
      else byOwner.delete(owner);
    }
  };
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
  const slot = gitSlots(limits);
  const exec = (id: string, command: string, env: Record<string, string>, maxOutputBytes = 100_000) =>
    workspace.exec({ id, command, env, timeoutMs: GIT_TIMEOUT_MS, maxOutputBytes });

  /** Writes a token where the script's credential helper reads it (it removes the file when it ends). */
  async function giveToken(id: string, path: string, token: string | undefined): Promise<void> {
    const files = token ? [{ path, contentBase64: Buffer.from(token).toString("base64"), mode: 0o600 }] : [];
    await inBatches(files, (batch) => workspace.writeFiles({ id, files: batch }));
  }

  /** Clones into the running workspace `id` and checks it out within the limits; the paths not imported. */
  async function cloneInto(id: string, url: string, token: string | undefined): Promise<string[]> {
    await giveToken(id, IMPORT_TOKEN_FILE, token);
    const cloned = await exec(id, CLONE_SCRIPT, { KILN_GIT_URL: url, KILN_GIT_MAX_KB: String(Math.ceil(limits.maxBytes / 1024)) });
    if (cloned.exitCode === 3) throw new AppError("failed_precondition", `${url} has no commits to import`);
    if (cloned.exitCode !== 0) throw gitFailure("clone", url, cloned, limits, token);
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

  async function importInto(url: string, token: string | undefined, name: string, auth: AuthData): Promise<ImportGitResult> {
    const project = await deps.projects.create({ name, description: `Imported from ${url}`, template: "blank" }, auth);
    try {
      const ws = await workspace.create({ projectId: project.id });
      await deps.projects.recordActivity({ id: project.id, workspaceId: ws.id });
      await runningWorkspace(workspace, ws.id);
      const notImported = await cloneInto(ws.id, url, token);
      return await using(async (s) => {
        const backup = await backupWorkspace(s, workspace, { projectId: project.id, workspaceId: ws.id, label: { label: `import of ${url}` } }, deps.vfsLimits);
        const doc = await s.snapshotDoc(project.id, backup.snapshot.id);
        const version = await s.versions.mark(doc, { kind: "import", status: "completed", prompt: null, summary: `Imported from ${url}`, source: null, thumbnailSha256: null });
        const skipped = [...notImported, ...backup.skipped].sort();
        deps.log.info("project imported from git", { projectId: project.id, url, files: doc.fileCount, bytes: doc.totalBytes, skipped: skipped.length });
        return { project: await deps.projects.get({ id: project.id }, auth), version, skipped };
      });
    } catch (err) {
      // An import that failed leaves no project behind: its workspace (and a token file the clone left) goes with it.
      await deps.projects.del({ id: project.id, purge: true }, auth).catch((cleanup: unknown) => deps.log.warn("a failed import's project was not deleted", { projectId: project.id, ...errorFields(cleanup) }));
      throw err;
    }
  }

  async function push(projectId: string, versionId: string, url: string, token: string | undefined, branch: string): Promise<PushVersionResult> {
    const { doc, files } = await using(async (s) => {
      const found = await s.versions.get(projectId, versionId);
      return { doc: found, files: await readVersion(s, projectId, found.files) };
    });
    const message = doc.version.prompt ?? doc.version.summary ?? `Kiln version ${versionId}`;
    // A sandbox of its own, running none of the project's code: nothing in it can read the token or change what is pushed.
    const ws = await workspace.create({ projectId });
    try {
      await runningWorkspace(workspace, ws.id);
      await syncWorkspace(workspace, ws.id, files);
      await giveToken(ws.id, TOKEN_FILE, token);
      const pushed = await exec(ws.id, PUSH_SCRIPT, { KILN_GIT_URL: url, KILN_GIT_BRANCH: branch, KILN_GIT_MESSAGE: message });
      if (pushed.exitCode !== 0) throw gitFailure("push", url, pushed, limits, token);
      const commit = pushed.stdout.trim().split("\n").pop() ?? "";
      deps.log.info("version pushed to git", { projectId, versionId, url, branch, commit, files: files.length });
      return { commit, branch, url, files: files.length };
    } finally {
      await workspace.del({ id: ws.id }).catch((err: unknown) => deps.log.warn("a push's sandbox was not deleted", { workspaceId: ws.id, ...errorFields(err) }));
    }
  }

  return {
    async importGit(req, auth) {
      const url = remoteUrlOf(req.url);
      const token = tokenOf(req.token);
      const name = req.name === undefined ? repositoryName(url) : requireText("name", req.name, { min: 1, max: 100 });
      return slot(auth.userID, () => importInto(url, token, name, auth));
    },

    async pushVersion(req, auth) {
      const owned = await deps.projects.get({ id: projectIdOf(req.projectId) }, auth);
      const versionId = versionIdOf("versionId", req.versionId);
      const url = remoteUrlOf(req.url);
      const token = tokenOf(req.token);
      const branch = branchOf(req.branch);
      return slot(auth.userID, () => push(owned.id, versionId, url, token, branch));
    },
  };
}
