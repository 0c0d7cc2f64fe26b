/**
 * The sandbox lifecycle of the fake control plane (`/api/sandbox...`), as real Daytona behaves
 * (notes/daytona-real.md): creates that fail answer 400, starts and stops that race a change answer 409,
 * archived sandboxes restore slowly, deletion is soft (`destroying`, then 404) and the list lags behind it,
 * auto-stop shows `desiredState: stopped` before it stops. Each behaviour has its knob in {@link FakeRealism}.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Reply } from "./daemon";
import { homeIn, imageOf } from "./image";
import { killProcessesWithHome } from "./sweep";
import { changing, newPreviewToken, poll, sandboxJson, schedule, setState, type FakeContext, type FakeSandbox, type FakeStep } from "./state";

/** Daytona's cap on auto-archive (0 means this maximum). */
const MAX_AUTO_ARCHIVE_MINUTES = 43_200;

/** A NestJS-style control-plane error, as the real API answers. */
export function apiError(status: number, message: string): Reply {
  const error = { 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 409: "Conflict" }[status] ?? "Error";
  return { status, json: { path: "", timestamp: new Date().toISOString(), statusCode: status, error, message } };
}

/** A sandbox deleted moments ago that the eventually consistent list still shows as it was. */
interface Ghost {
  json: Record<string, unknown>;
  labels: Record<string, string>;
  readsLeft: number;
}

/** One-shot faults the tests arm; each is used up by the request it changes. */
export interface LifecycleFaults {
  /** GETs a creating/starting sandbox answers with before it is `started`. */
  startPolls: number;
  /** The next create's sandbox ends in this state with this reason. */
  nextCreateFailure?: { state: string; errorReason: string };
  /** The next create is refused with this quota message (400, nothing created). */
  nextCreateQuota?: string;
  /** The next `GET /api/sandbox/<id>` answers this 5xx. */
  nextPollFailure?: number;
  /** So many next starts, stops or deletes answer 409 whatever the state. */
  conflicts: number;
}

/** The control plane's sandboxes and what happens to them. */
export class FakeLifecycle {
  readonly faults: LifecycleFaults = { startPolls: 1, conflicts: 0 };
  private readonly ghosts = new Map<string, Ghost>();
  /** Every sandbox id ever created, oldest first: the list's order. */
  private readonly order: string[] = [];
  private created = 0;
  private autoStopTimer?: NodeJS.Timeout;

  constructor(
    private readonly ctx: FakeContext,
    private readonly standardTokens: Set<string>,
    /** Runs when a sandbox is deleted (its preview host names go). */
    private readonly onDelete: (sandbox: FakeSandbox) => Promise<void>,
  ) {
    const perMinute = ctx.realism.autoStopMsPerMinute;
    if (perMinute !== undefined) this.autoStopTimer = setInterval(() => void this.autoStopTick(perMinute), Math.max(10, perMinute / 10));
  }

  private rotateToken(sandbox: FakeSandbox): void {
    sandbox.previewToken = newPreviewToken();
    this.standardTokens.add(sandbox.previewToken);
  }

  /** Kills every process of the sandbox (a stopped container keeps none) and stops its local sandbox. */
  async stopLocal(sandbox: FakeSandbox): Promise<void> {
    await killProcessesWithHome(sandbox.home);
    await this.ctx.local.stop(sandbox.localId).catch(() => {});
    sandbox.sessions.clear();
  }

  /** `POST /api/sandbox`. */
  async create(body: Record<string, unknown>): Promise<Reply | FakeSandbox> {
    const { faults } = this;
    if (faults.nextCreateQuota !== undefined) {
      const message = faults.nextCreateQuota;
      faults.nextCreateQuota = undefined;
      return apiError(400, message);
    }
    const snapshot = typeof body.snapshot === "string" ? body.snapshot : undefined;
    if (snapshot && ["cpu", "memory", "disk", "gpu"].some((key) => body[key] !== undefined)) return apiError(400, "Cannot specify Sandbox resources when using a snapshot");
    // A snapshot the fake built or pulled must be active; a name it never saw stands for an image the organisation has.
    const built = snapshot ? this.ctx.snapshots?.find(snapshot) : undefined;
    if (built && built.state !== "active") return apiError(400, `Snapshot ${snapshot} is ${built.state}`);
    const id = `sbx-fake-${++this.created}-${Math.random().toString(36).slice(2, 8)}`;
    const info = await this.ctx.local.create({ workspaceId: "daytona-fake", projectId: id });
    const root = (await this.ctx.local.exec(info.id, { command: 'printf %s "$HOME"', timeoutMs: 10_000, maxOutputBytes: 4096 })).stdout;
    const image = built?.image ?? imageOf(snapshot);
    if (built) await this.ctx.snapshots!.seed(built, root);
    const home = homeIn(root, image);
    await mkdir(home, { recursive: true });
    // A busybox image's tools come first on every login shell's PATH (Debian's /etc/profile resets PATH).
    if (!image.gnu && this.ctx.busyboxShims) await writeFile(join(home, ".bash_profile"), `export PATH=${this.ctx.busyboxShims}:"$PATH"\n`);
    const now = new Date().toISOString();
    const autoArchive = typeof body.autoArchiveInterval === "number" && body.autoArchiveInterval > 0 ? Math.min(body.autoArchiveInterval, MAX_AUTO_ARCHIVE_MINUTES) : MAX_AUTO_ARCHIVE_MINUTES;
    const sandbox: FakeSandbox = {
      id,
      localId: info.id,
      hostRoot: root,
      home,
      image,
      snapshot: snapshot ?? "daytonaio/sandbox:fake",
      state: "creating",
      desiredState: "started",
      errorReason: null,
      labels: (body.labels as Record<string, string>) ?? {},
      public: body.public === true,
      env: (body.env as Record<string, string>) ?? {},
      target: typeof body.target === "string" ? body.target : "us",
      autoStopInterval: typeof body.autoStopInterval === "number" ? body.autoStopInterval : 15,
      autoArchiveInterval: autoArchive,
      createdAt: now,
      updatedAt: now,
      steps: [],
      previewToken: "",
      lastActivity: Date.now(),
      sessions: new Map(),
    };
    this.rotateToken(sandbox);
    this.ctx.sandboxes.set(id, sandbox);
    this.order.push(id);
    const failure = faults.nextCreateFailure;
    faults.nextCreateFailure = undefined;
    if (failure && this.ctx.realism.failedStartIs400) {
      // The API waits for the start; a sandbox that errors meanwhile is reported so, and stays (in error).
      setState(sandbox, failure.state, failure.errorReason);
      return apiError(400, `Sandbox failed to start: ${failure.errorReason}`);
    }
    const polls = failure ? Math.max(1, faults.startPolls) : faults.startPolls;
    await schedule(sandbox, [
      { state: "creating", desiredState: "started", polls },
      failure ? { state: failure.state, desiredState: "started", polls: 0, errorReason: failure.errorReason } : { state: "started", desiredState: "started", polls: 0 },
    ]);
    return sandbox;
  }

  /**
   * `GET /api/sandbox`: a page of the sandboxes with `labels`, in creation order, the just-deleted ones as
   * they were; a list read (its first page) uses up one of a ghost's reads.
   */
  list(labels: Record<string, string>, limit: number, offset: number, toolboxProxyUrl: string): Reply {
    const matches = (own: Record<string, string>) => Object.entries(labels).every(([key, value]) => own[key] === value);
    const items: Array<Record<string, unknown>> = [];
    for (const id of this.order) {
      const ghost = this.ghosts.get(id);
      const sandbox = this.ctx.sandboxes.get(id);
      if (ghost && matches(ghost.labels)) {
        items.push(ghost.json);
        if (offset === 0 && --ghost.readsLeft <= 0) this.ghosts.delete(id);
      } else if (sandbox && matches(sandbox.labels)) {
        items.push(sandboxJson(sandbox, toolboxProxyUrl));
      }
    }
    const page = items.slice(offset, offset + limit);
    return { status: 200, json: { items: page, nextCursor: offset + limit < items.length ? String(offset + limit) : null } };
  }

  /** `GET /api/sandbox/<id>`: counts a poll of the change in progress; undefined once the sandbox is gone. */
  async get(sandbox: FakeSandbox): Promise<Reply | undefined> {
    if (this.faults.nextPollFailure !== undefined) {
      const status = this.faults.nextPollFailure;
      this.faults.nextPollFailure = undefined;
      return { status, json: { statusCode: status, message: `fake Daytona: injected ${status} on a poll`, error: "Bad Gateway" } };
    }
    await poll(sandbox);
    return this.ctx.sandboxes.has(sandbox.id) ? undefined : apiError(404, `Sandbox with ID or name ${sandbox.id} not found`);
  }

  /** A 409 for a state change requested while another is in progress (or armed by a test); undefined when it may go ahead. */
  private conflict(sandbox: FakeSandbox): Reply | undefined {
    if (this.faults.conflicts > 0) {
      this.faults.conflicts -= 1;
      return apiError(409, `Sandbox ${sandbox.id} state change in progress`);
    }
    if (this.ctx.realism.conflicts && changing(sandbox)) return apiError(409, `Sandbox ${sandbox.id} state change in progress (${sandbox.state} → ${sandbox.desiredState})`);
    return undefined;
  }

  /** `POST /api/sandbox/<id>/start`: answers at once; a stopped sandbox then starts, an archived one restores (slowly). */
  async start(sandbox: FakeSandbox): Promise<Reply | undefined> {
    if (sandbox.state === "error" || sandbox.state === "build_failed") return apiError(400, `Sandbox ${sandbox.id} is in ${sandbox.state} state: ${sandbox.errorReason}`);
    const conflict = this.conflict(sandbox);
    if (conflict) return conflict;
    if (sandbox.state !== "stopped" && sandbox.state !== "archived") return undefined;
    await this.ctx.local.start(sandbox.localId);
    if (this.ctx.realism.newPreviewTokenPerStart) this.rotateToken(sandbox);
    sandbox.lastActivity = Date.now();
    const archived = sandbox.state === "archived";
    await schedule(sandbox, [
      { state: archived ? "restoring" : "starting", desiredState: "started", polls: archived ? Math.max(this.faults.startPolls, this.ctx.realism.restorePolls + 1) : this.faults.startPolls },
      { state: "started", desiredState: "started", polls: 0 },
    ]);
    return undefined;
  }

  /** `POST /api/sandbox/<id>/stop`: `stopping` for a poll, then `stopped` with its processes dead. */
  async stop(sandbox: FakeSandbox): Promise<Reply | undefined> {
    const conflict = this.conflict(sandbox);
    if (conflict) return conflict;
    if (sandbox.state !== "started") return undefined;
    await schedule(sandbox, this.stopSteps(sandbox, 0));
    return undefined;
  }

  private stopSteps(sandbox: FakeSandbox, desiredPolls: number): FakeStep[] {
    const steps: FakeStep[] = desiredPolls > 0 ? [{ state: "started", desiredState: "stopped", polls: desiredPolls }] : [];
    return [...steps, { state: "stopping", desiredState: "stopped", polls: Math.max(1, desiredPolls) }, { state: "stopped", desiredState: "stopped", polls: 0, enter: () => this.stopLocal(sandbox) }];
  }

  /** Begins auto-stop now: `started` with desiredState `stopped`, then `stopping`, then `stopped`. */
  async autoStop(sandbox: FakeSandbox): Promise<void> {
    sandbox.autoStopping = true;
    await schedule(sandbox, this.stopSteps(sandbox, this.ctx.realism.autoStopPolls));
  }

  private async autoStopTick(msPerMinute: number): Promise<void> {
    for (const sandbox of this.ctx.sandboxes.values()) {
      if (sandbox.autoStopping) {
        await poll(sandbox);
        if (sandbox.steps.length === 0) sandbox.autoStopping = false;
      } else if (sandbox.state === "started" && !changing(sandbox) && sandbox.autoStopInterval > 0 && Date.now() - sandbox.lastActivity > sandbox.autoStopInterval * msPerMinute) {
        await this.autoStop(sandbox);
      }
    }
  }

  /** `DELETE /api/sandbox/<id>`: soft; `destroying` for a while, then gone; a second delete answers 409. */
  async delete(sandbox: FakeSandbox, toolboxProxyUrl: string): Promise<Reply> {
    if (sandbox.state === "destroying" && this.ctx.realism.conflicts) return apiError(409, `Sandbox ${sandbox.id} is already being destroyed`);
    const conflict = sandbox.state === "destroying" ? undefined : this.conflict(sandbox);
    if (conflict) return conflict;
    if (this.ctx.realism.staleListReads > 0) {
      this.ghosts.set(sandbox.id, { json: { ...sandboxJson(sandbox, toolboxProxyUrl), state: "started", desiredState: "started" }, labels: sandbox.labels, readsLeft: this.ctx.realism.staleListReads });
    }
    sandbox.autoStopping = false;
    const gone = async () => void this.ctx.sandboxes.delete(sandbox.id);
    // Marked destroying at once (a racing delete sees it), its processes and files gone before the answer.
    const destroying = schedule(sandbox, [
      { state: "destroying", desiredState: "destroyed", polls: this.ctx.realism.destroyingPolls > 0 ? this.ctx.realism.destroyingPolls + 1 : 0 },
      { state: "destroyed", desiredState: "destroyed", polls: 0, enter: gone },
    ]);
    await this.onDelete(sandbox);
    await killProcessesWithHome(sandbox.home);
    await this.ctx.local.delete(sandbox.localId).catch(() => {});
    sandbox.sessions.clear();
    await destroying;
    return { status: 200, json: { ...sandboxJson(sandbox, toolboxProxyUrl), state: "destroying", desiredState: "destroyed" } };
  }

  /** Stops the auto-stop clock. */
  close(): void {
    clearInterval(this.autoStopTimer);
  }
}
