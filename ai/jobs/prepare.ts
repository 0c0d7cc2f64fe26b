import type { Logger } from "../../lib/log";
import type { AuthData } from "../../lib/routes";
import { hasCode, HTTP_STATUS } from "../../lib/errors";
import { isNotConfigured } from "../../lib/startup";
import { hasStarter, TemplateCatalog, type Template } from "../../lib/templates";
import type { Project } from "../../projects/contract";
import type { FailureKind } from "../contract";
import type { Workspace } from "../../workspace/contract";
import type { PipelineDeps } from "./pipeline";
import type { JobContext } from "./runner";

/** A failure of a step, in words for the user: the job ends failed with this message (and kind, when known). */
export class JobFailure extends Error {
  constructor(
    message: string,
    readonly kind?: FailureKind,
  ) {
    super(message);
  }
}

/** A duration for people: "0.3 s", "120 s". */
const seconds = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;

/** Looks at a project's workspace before a failing answer other than "not found" fails the step. */
const LOOKUP_ATTEMPTS = 4;

/** The longest pause between two looks at a workspace whose archived sandbox is being restored (minutes on Daytona). */
const RESTORE_POLL_MS = 5_000;

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });

/** What preparing hands on: the project, the template it starts from (if it has a starter), its running workspace. */
export interface Prepared {
  project: Project;
  starter: Template | undefined;
  workspace: Workspace;
}

/**
 * The prepare step: find, start or re-create the project's workspace (restoring its files from the vfs
 * when re-created), wait until it runs, and bring the dev server up beside the agent. Null when the job
 * was cancelled meanwhile.
 */
export function createPrepare(deps: PipelineDeps) {
  const templates = deps.templates ?? TemplateCatalog.shared();

  /**
   * The project's workspace, or null when the workspace service says it is not found. Any other error
   * (the service briefly unreachable) is retried and then fails the step with its reason: re-creating
   * the sandbox on a transient error would restore an older backup over live work.
   */
  async function lookUp(ctx: JobContext, id: string): Promise<Workspace | null> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await deps.workspace.get({ id });
      } catch (err) {
        if (hasCode(err, "not_found")) return null;
        // A service that is not configured stays so until its server restarts: no point asking again.
        const misconfigured = isNotConfigured(err);
        if (misconfigured || attempt >= LOOKUP_ATTEMPTS || ctx.signal.aborted) {
          throw new JobFailure(`could not look at workspace ${id} (${attempt} tries): ${err instanceof Error ? err.message : String(err)}`, misconfigured ? "misconfigured" : undefined);
        }
        await sleep(100 * 2 ** attempt, ctx.signal);
      }
    }
  }

  /** Finds or makes the project's workspace; says whether its files must be restored from the vfs. */
  async function findOrCreate(ctx: JobContext, project: Project): Promise<{ workspace: Workspace; restore: boolean }> {
    if (project.workspaceId) {
      const existing = await lookUp(ctx, project.workspaceId);
      if (existing && (existing.status === "stopped" || existing.status === "archived")) {
        await ctx.emit("workspace", { action: "starting", workspaceId: existing.id, status: existing.status });
        return { workspace: await deps.workspace.start({ id: existing.id }), restore: false };
      }
      if (existing && existing.status !== "deleted" && existing.status !== "error") return { workspace: existing, restore: false };
      await ctx.emit("workspace", { action: "recreating", previous: project.workspaceId, reason: existing?.lastError ?? "its sandbox is gone" });
    }
    // A re-created workspace gets the template's files and dependencies, then its own files from the vfs over them.
    const restore = project.workspaceId !== null;
    const created = await deps.workspace.create({ projectId: ctx.job.projectId, template: project.template, restoring: restore });
    await deps.projectState.workspace(ctx.job.projectId, created.id);
    return { workspace: created, restore };
  }

  /**
   * Looks at the workspace at once and then less and less often (25 ms doubling up to `workspacePollMs`)
   * until it runs: a local sandbox is ready in tens of milliseconds, a cloud one in seconds. Its error,
   * deletion or the timeout fail the job. An archived sandbox being restored (`restoring`: minutes on
   * Daytona) is said once and looked at up to every {@link RESTORE_POLL_MS}; the restore does not count
   * against the timeout, which starts again when it ends (the provider owns the restore's own deadline
   * and reports `error` past it).
   */
  async function waitUntilRunning(ctx: JobContext, workspaceId: string): Promise<void> {
    let started = Date.now();
    let saidRestoring = false;
    for (let pause = 25; ; ) {
      const current = await deps.workspace.get({ id: workspaceId });
      if (current.status === "running") return;
      if (current.status === "error") throw new JobFailure(`workspace ${workspaceId} failed: ${current.lastError ?? "no reason given"}`);
      if (current.status === "deleted") throw new JobFailure(`workspace ${workspaceId} was deleted while starting: ${current.lastError ?? "no reason given"}`);
      const restoring = current.status === "restoring";
      if (restoring) {
        started = Date.now();
        if (!saidRestoring) await ctx.emit("workspace", { action: "restoring", workspaceId });
        saidRestoring = true;
      } else if (Date.now() - started >= deps.workspaceReadyTimeoutMs) {
        throw new JobFailure(`workspace ${workspaceId} was not ready after waiting ${seconds(deps.workspaceReadyTimeoutMs)} (still ${current.status})`);
      }
      if (ctx.signal.aborted) return;
      await sleep(pause, ctx.signal);
      pause = Math.min(pause * 2, restoring ? Math.max(deps.workspacePollMs, RESTORE_POLL_MS) : deps.workspacePollMs);
    }
  }

  /**
   * Brings the dev server up beside the agent's first turn (the template's, or the one a resumed job had
   * started) and says `preview_ready` the moment it answers, so the user watches the app from the first
   * edit (hot reload shows the rest). Never fails the job: the agent's completion checks the dev server again.
   */
  function earlyPreview(ctx: JobContext, workspace: Workspace, command: string, finished: () => boolean, log: Logger): Promise<void> {
    return deps.workspace
      .ensureDevServer({ id: workspace.id, command })
      .then(async (status) => {
        if (finished()) return;
        if (!status.ok) {
          await ctx.emit("workspace", { action: "dev_server_not_answering", problem: status.problem, logTail: status.logTail });
          return;
        }
        if (status.previewUrl === null) {
          await ctx.emit("workspace", { action: "dev_server_not_answering", problem: "the dev server answers, but the workspace has no preview address", logTail: status.logTail });
          return;
        }
        await ctx.emit("preview_ready", { url: status.previewUrl, token: status.previewToken });
        await deps.projectState.preview(ctx.job.projectId, status.previewUrl);
      })
      .catch(async (err) => {
        // Said in the stream too: a preview that silently never comes looks like a hung job.
        const reason = err instanceof Error ? err.message : String(err);
        log.warn("the early preview failed", { reason });
        // A service's error (its code and words) is for people; anything else may carry internals.
        const code = (err as { code?: unknown } | null)?.code;
        const said = err instanceof Error && typeof code === "string" && code !== "internal" && code in HTTP_STATUS ? err.message : "an internal error (the server's log has it)";
        if (!finished()) await ctx.emit("workspace", { action: "dev_server_not_answering", problem: `the dev server could not be started: ${said}`, logTail: "" }).catch(() => undefined);
      });
  }

  return async (ctx: JobContext, auth: AuthData, resumed: boolean, finished: () => boolean, log: Logger): Promise<Prepared | null> => {
    const { job } = ctx;
    await ctx.step("preparing_workspace", 5);
    const project = await deps.projects.get({ id: job.projectId }, auth);
    const template = templates.find(project.template);
    const starter = template && hasStarter(template) ? template : undefined;
    const { workspace, restore } = await findOrCreate(ctx, project);
    await ctx.recordWorkspace(workspace.id);

    await ctx.step("waiting_for_workspace", 10, { workspaceId: workspace.id });
    await waitUntilRunning(ctx, workspace.id);
    if (ctx.signal.aborted) return null;
    if (restore) {
      const restored = await deps.vfs.restoreWorkspace({ projectId: job.projectId, workspaceId: workspace.id }, auth);
      await ctx.emit("restored", { files: restored.files, snapshotId: restored.snapshotId });
    }
    // A resumed job restarts the dev server it had (the workspace remembers its command).
    if (starter || resumed) {
      const current = await deps.workspace.get({ id: workspace.id });
      const devCommand = current.devCommand ?? starter?.manifest.dev;
      if (devCommand) void earlyPreview(ctx, current, devCommand, finished, log);
    }
    return { project, starter, workspace };
  };
}
