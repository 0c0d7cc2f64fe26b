/**
 * How the Daytona provider reaches a sandbox: reads it (a 404 is `not_found`), requires it running
 * (started and meant to stay so), learns where it keeps things (its user's home, asked once, with the
 * image's preflight), and wraps toolbox calls so a failure says whether the sandbox went away or stopped.
 */
import type { Daytona, Sandbox } from "@daytonaio/sdk";
import { AppError, notFound } from "../../lib/errors";
import type { ActivityKeeper } from "./daytona-activity";
import { daytonaFailure, retrying, statusOf, type RetryPolicy } from "./daytona-errors";
import { bashCommand, layoutOf, parsePreflight, preflightScript, type SandboxLayout } from "./daytona-scripts";
import { infoOf, stateOf } from "./daytona-state";
import type { SandboxInfo } from "./provider";

/** Daytona ids and names as accepted in a URL path segment. */
const SANDBOX_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** What {@link SandboxAccess} needs to know. */
export interface AccessOptions {
  /** How long a restore may take before the sandbox reads as `error`. */
  restoreTimeoutMs: number;
  retries: RetryPolicy;
  /** How long a sandbox stays awake after a toolbox call. */
  afterUseMs: number;
}

/** The sandboxes of one provider as it reaches them, with what it remembers of each. */
export class SandboxAccess {
  /** Sandbox objects by id (they carry the toolbox client); dropped whenever a call suggests they are stale. */
  private readonly sandboxes = new Map<string, Sandbox>();
  /** Each sandbox's home and the places below it, asked once per sandbox (with the image's preflight). */
  private readonly layouts = new Map<string, Promise<SandboxLayout>>();
  /** Set once the keeper exists (it refreshes through this access). */
  keeper: ActivityKeeper | undefined;

  constructor(
    readonly daytona: Daytona,
    private readonly options: AccessOptions,
  ) {}

  /** The sandbox as the provider reports it (a restore past its deadline is an error). */
  info(sandbox: Sandbox): SandboxInfo {
    return infoOf(sandbox, { timeoutMs: this.options.restoreTimeoutMs, now: Date.now() });
  }

  /** Remembers a sandbox object just made or read. */
  remember(sandbox: Sandbox): void {
    this.sandboxes.set(sandbox.id, sandbox);
  }

  /** Forgets what is cached of a sandbox (its object; with `all`, its layout too: it was deleted). */
  forget(id: string, all = false): void {
    this.sandboxes.delete(id);
    if (all) this.layouts.delete(id);
  }

  /** Marks the sandbox active now (`refreshActivity`); `not_found` when it no longer exists. */
  async refreshActivity(id: string): Promise<void> {
    const sandbox = this.sandboxes.get(id) ?? (await this.fetch(id));
    await sandbox.refreshActivity().catch((err: unknown) => {
      throw statusOf(err) === 404 ? notFound("sandbox", id) : err;
    });
  }

  /** The sandbox as Daytona knows it now; `not_found` when it no longer exists. */
  async fetch(id: string): Promise<Sandbox> {
    if (typeof id !== "string" || !SANDBOX_ID.test(id)) throw notFound("sandbox", String(id));
    try {
      const sandbox = await retrying(() => this.daytona.get(id), this.options.retries);
      this.sandboxes.set(id, sandbox);
      return sandbox;
    } catch (err) {
      this.sandboxes.delete(id);
      if (statusOf(err) === 404) throw notFound("sandbox", id);
      throw daytonaFailure(err, `reading sandbox ${id}`);
    }
  }

  /** Why a sandbox cannot take files and commands now: gone (`not_found`), or its state (`failed_precondition`). */
  notRunning(sandbox: Sandbox): AppError {
    const info = this.info(sandbox);
    if (info.state === "gone") return notFound("sandbox", sandbox.id);
    const reason = info.error ? ` (${info.error})` : "";
    return new AppError("failed_precondition", `sandbox ${JSON.stringify(sandbox.id)} is ${info.state}${reason}; start it first`, { state: info.state });
  }

  /** A started sandbox that is meant to stay started: the cached object when it was, else a fresh read. */
  async running(id: string): Promise<Sandbox> {
    const cached = this.sandboxes.get(id);
    if (cached && stateOf(cached.state, cached.desiredState) === "running") return cached;
    const sandbox = await this.fetch(id);
    if (stateOf(sandbox.state, sandbox.desiredState) !== "running") throw this.notRunning(sandbox);
    return sandbox;
  }

  /**
   * Where the sandbox keeps things: its user's home as the daemon reports it (root's on `node:*` images),
   * checked once per sandbox together with what the image must have for the scripts (a clear
   * `failed_precondition` naming what is missing, remembered; other failures are asked again next time).
   */
  layout(sandbox: Sandbox): Promise<SandboxLayout> {
    let layout = this.layouts.get(sandbox.id);
    if (!layout) {
      layout = (async () => {
        const home = await sandbox.getUserHomeDir().catch((err: unknown) => {
          throw daytonaFailure(err, `asking sandbox ${sandbox.id} for its home directory`);
        });
        const found = layoutOf(home);
        const checked = await sandbox.process.executeCommand(bashCommand(preflightScript()), found.home, undefined, 60);
        const missing = parsePreflight(checked.result);
        if (missing.length > 0) {
          throw new AppError(
            "failed_precondition",
            `Daytona: the image of sandbox ${sandbox.id} lacks what Kiln's scripts need: ${missing.join(", ")}; use a Debian or Ubuntu based image (Daytona's default snapshot, node:<version>-bookworm or -slim)`,
            { missing },
          );
        }
        return found;
      })();
      this.layouts.set(sandbox.id, layout);
      layout.catch((err: unknown) => {
        if (!(err instanceof AppError && err.code === "failed_precondition")) this.layouts.delete(sandbox.id);
      });
    }
    return layout;
  }

  /**
   * A toolbox call on a started sandbox, in its layout; the sandbox stays awake a while after it. On
   * failure the sandbox is read again: gone is `not_found`, no longer started is `failed_precondition`.
   */
  async toolbox<T>(id: string, what: string, call: (sandbox: Sandbox, layout: SandboxLayout) => Promise<T>): Promise<T> {
    const sandbox = await this.running(id);
    try {
      const layout = await this.layout(sandbox);
      this.keeper?.extend(id, Date.now() + this.options.afterUseMs);
      return await call(sandbox, layout);
    } catch (err) {
      if (err instanceof AppError) throw err;
      this.sandboxes.delete(id);
      const fresh = await this.fetch(id);
      if (stateOf(fresh.state, fresh.desiredState) !== "running") throw this.notRunning(fresh);
      throw daytonaFailure(err, what);
    }
  }

  /** Runs a script in the project directory; its exit code and output (capped by the script itself). */
  async script(id: string, what: string, script: string): Promise<{ exitCode: number; output: string }> {
    const response = await this.toolbox(id, what, (sandbox, layout) => sandbox.process.executeCommand(bashCommand(script), layout.project, undefined, 600));
    return { exitCode: response.exitCode, output: response.result };
  }
}
