/**
 * The lifecycle of Daytona sandboxes as real Daytona runs it: creates that fail leave a sandbox in error
 * (deleted here), state changes answer 409 while another is in progress (waited out), auto-stop shows
 * `desiredState: stopped` first, archived sandboxes take minutes to restore (`restoring` at once), deletes
 * are soft and the list lags behind them (what this provider deleted stays hidden from its list).
 */
import { DaytonaTimeoutError, type Sandbox } from "@daytonaio/sdk";
import { AppError, invalidArgument, notFound } from "../../lib/errors";
import type { Logger } from "../../lib/log";
import type { SandboxAccess } from "./daytona-access";
import { daytonaFailure, failedStartReason, isRetryable, messageOf, retrying, statusOf, type RetryPolicy } from "./daytona-errors";
import type { PreviewLinks } from "./daytona-previews";
import { KILN_LABEL, kilnLabels, type SandboxInfo, type SandboxSpec } from "./provider";

/** How a start waits for an archived sandbox before answering `restoring` (restores take minutes). */
const ARCHIVED_START_WAIT_SECONDS = 5;
/** How long `list` hides a sandbox this provider deleted: Daytona's list shows deleted ones as started for a while. */
const TOMBSTONE_MS = 15 * 60_000;
const MAX_LABEL_VALUE = 200;

function checkLabelValue(field: string, value: unknown): void {
  if (typeof value !== "string" || value === "" || value.length > MAX_LABEL_VALUE) {
    throw invalidArgument(field, `must be a non-empty string of at most ${MAX_LABEL_VALUE} characters`);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What a new sandbox is made with, and how long state changes may take. */
export interface LifecycleOptions {
  autoStopMinutes: number;
  autoArchiveMinutes: number;
  public: boolean;
  snapshot?: string;
  /** How long create, start and stop wait for their state. */
  startTimeoutSeconds: number;
  retries: RetryPolicy;
  log: Logger;
}

/** Create, read, list, start, stop and delete, for one provider. */
export class DaytonaLifecycle {
  /** Sandboxes this provider deleted, and when (Daytona's list still shows them for a while). */
  private readonly tombstones = new Map<string, number>();

  constructor(
    private readonly access: SandboxAccess,
    private readonly previews: PreviewLinks,
    private readonly options: LifecycleOptions,
  ) {}

  /**
   * Repeats `step` on a fresh read of the sandbox until it answers (a state change is done), waiting out
   * Daytona's 409s and 429s with a growing pause, for at most the start timeout.
   */
  private async settle(id: string, what: string, step: (sandbox: Sandbox, remainingSeconds: number) => Promise<SandboxInfo | undefined>): Promise<SandboxInfo> {
    const { startTimeoutSeconds, retries } = this.options;
    const deadline = Date.now() + startTimeoutSeconds * 1000;
    for (let attempt = 0; ; attempt++) {
      const sandbox = await this.access.fetch(id);
      const remaining = Math.max(1, (deadline - Date.now()) / 1000);
      try {
        const done = await step(sandbox, remaining);
        if (done) return done;
      } catch (err) {
        this.access.forget(id);
        if (err instanceof AppError) throw err;
        if (!isRetryable(err) || Date.now() >= deadline) throw daytonaFailure(err, `${what} (it was ${sandbox.state})`);
      }
      if (Date.now() >= deadline) throw new AppError("deadline_exceeded", `Daytona: ${what} did not finish within ${startTimeoutSeconds} s (the sandbox is ${sandbox.state})`);
      await sleep(Math.min(retries.maxMs, retries.baseMs * 2 ** Math.min(attempt, 10)));
    }
  }

  /**
   * A new sandbox, started, with its project directory, from `snapshot` (a template's) or the configured
   * one; a sandbox that cannot serve (an image without bash or GNU tools, a home Kiln cannot use) is
   * deleted again.
   */
  async create(spec: SandboxSpec, snapshot = this.options.snapshot): Promise<SandboxInfo> {
    checkLabelValue("workspaceId", spec.workspaceId);
    checkLabelValue("projectId", spec.projectId);
    const { log } = this.options;
    let sandbox: Sandbox;
    try {
      const params = {
        language: "typescript",
        labels: kilnLabels(spec),
        autoStopInterval: this.options.autoStopMinutes,
        autoArchiveInterval: this.options.autoArchiveMinutes,
        public: this.options.public,
        ...(snapshot ? { snapshot } : {}),
      };
      sandbox = await retrying(() => this.access.daytona.create(params, { timeout: this.options.startTimeoutSeconds }), this.options.retries);
    } catch (err) {
      const reason = failedStartReason(err);
      if (reason === undefined) throw daytonaFailure(err, `creating a sandbox for workspace ${spec.workspaceId}`);
      await this.removeFailed(spec.workspaceId);
      throw new AppError("failed_precondition", `Daytona: the new sandbox did not start: ${reason}`, { workspaceId: spec.workspaceId });
    }
    this.access.remember(sandbox);
    try {
      await this.access.toolbox(sandbox.id, "creating the project directory", (started, layout) => started.fs.createFolder(layout.project, "755"));
    } catch (err) {
      await this.delete(sandbox.id).catch((cleanup: unknown) => log.warn("deleting a sandbox that failed to set up failed", { sandboxId: sandbox.id, reason: messageOf(cleanup) }));
      throw err;
    }
    log.info("daytona sandbox created", { sandboxId: sandbox.id, workspaceId: spec.workspaceId, snapshot });
    return this.access.info(sandbox);
  }

  /** Deletes the sandboxes a failed create left in error (they count against the organisation's quota); best effort. */
  private async removeFailed(workspaceId: string): Promise<void> {
    const { log } = this.options;
    try {
      for await (const left of this.access.daytona.list({ labels: { [KILN_LABEL]: "true", "kiln.workspace": workspaceId } })) {
        if (this.access.info(left).state === "error") await this.delete(left.id).catch((err: unknown) => log.warn("deleting a sandbox that failed to start failed", { sandboxId: left.id, reason: messageOf(err) }));
      }
    } catch (err) {
      log.warn("finding the sandbox that failed to start failed", { workspaceId, reason: messageOf(err) });
    }
  }

  /** The sandbox as Daytona knows it now; `gone` when it no longer exists (or is being destroyed). */
  async get(id: string): Promise<SandboxInfo> {
    try {
      return this.access.info(await this.access.fetch(id));
    } catch (err) {
      if (err instanceof AppError && err.code === "not_found") return { id, state: "gone", labels: {} };
      throw err;
    }
  }

  /** Kiln's sandboxes, without those being destroyed or deleted by this provider moments ago. */
  async list(): Promise<SandboxInfo[]> {
    const now = Date.now();
    for (const [id, deletedAt] of this.tombstones) if (now - deletedAt > TOMBSTONE_MS) this.tombstones.delete(id);
    const found: SandboxInfo[] = [];
    try {
      for await (const sandbox of this.access.daytona.list({ labels: { [KILN_LABEL]: "true" } })) {
        const info = this.access.info(sandbox);
        if (info.state !== "gone" && !this.tombstones.has(sandbox.id)) found.push(info);
      }
    } catch (err) {
      throw daytonaFailure(err, "listing Kiln's sandboxes");
    }
    return found;
  }

  /** Starts a sandbox: running once started, `restoring` at once for an archive that takes longer. */
  async start(id: string): Promise<SandboxInfo> {
    const info = await this.settle(id, `starting sandbox ${id}`, async (sandbox, remaining) => {
      const current = this.access.info(sandbox);
      if (current.state === "running" || current.state === "restoring") return current;
      if (current.state === "gone") throw notFound("sandbox", id);
      if (current.state === "error") throw this.access.notRunning(sandbox);
      if (current.state === "creating") {
        await sandbox.waitUntilStarted(remaining);
        return this.access.info(sandbox);
      }
      // Still on its way to stopped (auto-stop, a stop elsewhere): let it get there, then start it.
      if (sandbox.state !== "stopped" && sandbox.state !== "archived") return undefined;
      if (sandbox.state === "stopped") {
        await sandbox.start(remaining);
        return this.access.info(sandbox);
      }
      try {
        await sandbox.start(ARCHIVED_START_WAIT_SECONDS);
      } catch (err) {
        if (!(err instanceof DaytonaTimeoutError)) throw err;
      }
      return this.access.info(sandbox);
    });
    this.options.log.info("daytona sandbox started", { sandboxId: id, state: info.state });
    return info;
  }

  /** Stops a sandbox (revoking the preview links this provider gave for it); one already stopping is waited for. */
  async stop(id: string): Promise<SandboxInfo> {
    return this.settle(id, `stopping sandbox ${id}`, async (sandbox, remaining) => {
      const current = this.access.info(sandbox);
      if (current.state === "gone") throw notFound("sandbox", id);
      if (sandbox.state === "started" && sandbox.desiredState !== "stopped") {
        this.access.keeper?.drop(id);
        await this.previews.revokeAll(sandbox);
        await sandbox.stop(remaining);
        return this.access.info(sandbox);
      }
      if (sandbox.state === "started" || sandbox.state === "stopping") {
        await sandbox.waitUntilStopped(remaining);
        return this.access.info(sandbox);
      }
      // Starting or restoring: a stop now would answer 409; wait for it to settle.
      return current.state === "creating" || current.state === "restoring" ? undefined : current;
    });
  }

  /** Deletes a sandbox: `destroying`, a 404 and a 409 from a racing delete all count as done. */
  async delete(id: string): Promise<void> {
    const sandbox = await this.access.fetch(id);
    if (this.access.info(sandbox).state === "gone") throw notFound("sandbox", id);
    this.access.keeper?.drop(id);
    const deleted = async (): Promise<void> => {
      try {
        await sandbox.delete();
      } catch (err) {
        const status = statusOf(err);
        if (status === 404) return;
        // Deleted by another caller meanwhile (a second delete answers 409), or a state change in the way (retried).
        if (status === 409 && (await this.get(id)).state === "gone") return;
        throw err;
      }
    };
    try {
      await retrying(deleted, this.options.retries);
    } catch (err) {
      throw daytonaFailure(err, `deleting sandbox ${id}`);
    } finally {
      this.access.forget(id, true);
    }
    this.tombstones.set(id, Date.now());
    this.previews.forget(id);
    this.options.log.info("daytona sandbox deleted", { sandboxId: id });
  }
}
