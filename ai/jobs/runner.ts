import type { Logger } from "../../lib/log";
import type { EmitEvent, FailureKind, GenerationEventData, GenerationEventType, GenerationOutcomeData } from "../contract";
import { errorFields } from "../../lib/log";
import { isNotConfigured } from "../../lib/startup";
import type { BackgroundProcess, JobEvent, JobRecord, JobStep, JobStore, Transcript, TurnEvent } from "./store";

/** What a job's executor can do while it holds the job. */
export interface JobContext {
  job: JobRecord;
  /** Aborted when the job is cancelled or this runner loses its lease. */
  signal: AbortSignal;
  /** Records progress: a step (an event) with a value that never goes backwards. */
  step(step: JobStep, progress: number, detail?: Record<string, unknown>): Promise<void>;
  /** Appends an event to the job's log. */
  emit: EmitEvent;
  /** Records the workspace the job runs in. */
  recordWorkspace(workspaceId: string): Promise<void>;
  /** Records a background process the agent started (or its new id once started again). */
  recordProcess(process: BackgroundProcess): Promise<void>;
  /** The conversation an earlier attempt of this job saved; null before its agent first ran. */
  transcript(): Promise<Transcript | null>;
  /** The conversation of the project's latest earlier job, which a follow-up continues; null if none saved one. */
  previousTranscript(): Promise<Transcript | null>;
  /**
   * Appends events and saves the conversation so far with them (when given) in one transaction, for
   * whoever takes the job over if this runner dies.
   */
  saveTurn(events: TurnEvent[], transcript: Transcript | null): Promise<void>;
}

/** How an executor ends a job that was not cancelled (a completed job's preview is its project's by then). */
export type JobResult = { status: "completed"; summary: string; previewUrl: string } | { status: "failed"; error: string; summary?: string; errorKind?: FailureKind };

/**
 * Runs one job to its end. Throwing fails the job with the error's message (`misconfigured` when it is a
 * service saying it is not configured).
 */
export type Executor = (ctx: JobContext) => Promise<JobResult>;

/** A job's events, delivered live to anyone watching in this process: those just stored, when known. */
export type EventListener = (jobId: string, events?: readonly JobEvent[]) => void;

/** The runner's settings. */
export interface RunnerOptions {
  store: JobStore;
  execute: Executor;
  workerId: string;
  /** Jobs run at once by this process. */
  concurrency: number;
  leaseMs: number;
  /** How often an idle runner looks for work (it is also woken when a job is queued here). */
  pollMs: number;
  /** Takeovers of a job whose runner died before it is failed instead of resumed again. */
  maxResumes: number;
  /** Told after every event appended, so live streams can follow without polling. */
  onEvent: EventListener;
  /** Saves what a job left behind when its runners kept dying, before it is failed. */
  salvage?: (job: JobRecord) => Promise<void>;
  /** Tells a job's project what its generations say, after the job ended (ProjectState.settle; never throws). */
  settle?: (projectId: string) => Promise<void>;
  log: Logger;
}

/** This runner no longer holds the job (it lapsed, or the runner is stopping): another goes on with it. */
export class LeaseLost extends Error {}

/** Heartbeats also carry cancel requests from other processes: at most this far apart. */
const HEARTBEAT_MAX_MS = 1000;

/** A running pool of job runners. */
export interface Runner {
  /** Looks for work now (a job was just queued): one idle loop claims. */
  wake(): void;
  /** Stops a job this runner holds now (a cancel asked in this process); others see it at their heartbeat. */
  cancel(jobId: string): void;
  /** Stops claiming, aborts the jobs it holds (their leases lapse, another runner resumes them) and waits. */
  stop(): Promise<void>;
}

/** Starts `concurrency` runner loops claiming jobs from Postgres. */
export function startRunner(options: RunnerOptions): Runner {
  const { store, log } = options;
  let stopping = false;
  const sleepers = new Set<() => void>();
  const held = new Map<string, { controller: AbortController; cancel: () => void; agentTime: () => number }>();
  const wakeAll = () => {
    for (const wake of [...sleepers]) wake();
  };
  // Idle loops wait until woken, one at a time: by a job queued here, by a loop that just claimed one
  // (there may be more), or by the poll, which wakes one every `pollMs` for jobs queued elsewhere and
  // lapsed leases. A queued job costs one claim, not one per idle loop.
  const wakeOne = () => sleepers.values().next().value?.();
  const poll = setInterval(wakeOne, options.pollMs).unref();

  const sleep = () =>
    new Promise<void>((resolve) => {
      if (stopping) return resolve();
      const wake = () => {
        sleepers.delete(wake);
        resolve();
      };
      sleepers.add(wake);
    });

  // One heartbeat for every job this runner holds: one query per tick, whatever the number of jobs.
  let beating = false;
  const heartbeat = setInterval(() => {
    if (beating || held.size === 0) return;
    beating = true;
    const jobs = [...held].map(([id, job]) => ({ id, agentMs: job.agentTime() }));
    store.renewHeld(options.workerId, options.leaseMs, jobs).then(
      (leases) => {
        for (const { id } of jobs) {
          const job = held.get(id);
          const lease = leases.get(id);
          if (!lease) job?.controller.abort(new LeaseLost("lease lost"));
          else if (lease.cancelRequested) job?.cancel();
        }
      },
      (err) => log.warn("heartbeat failed", { jobs: jobs.length, ...errorFields(err) }),
    ).finally(() => (beating = false));
  }, Math.max(50, Math.min(HEARTBEAT_MAX_MS, Math.floor(options.leaseMs / 3)))).unref();

  async function emit<T extends GenerationEventType>(jobId: string, type: T, data: GenerationEventData[T]): Promise<void> {
    options.onEvent(jobId, [await store.appendEvent(jobId, type, data)]);
  }

  async function end(job: JobRecord, outcome: GenerationOutcomeData): Promise<void> {
    const data: GenerationOutcomeData = {
      status: outcome.status,
      ...(outcome.error ? { error: outcome.error } : {}),
      ...(outcome.errorKind ? { errorKind: outcome.errorKind } : {}),
      ...(outcome.summary ? { summary: outcome.summary } : {}),
      ...(outcome.previewUrl ? { previewUrl: outcome.previewUrl } : {}),
    };
    const ended = await store.finish(job.id, options.workerId, data);
    if (!ended) return;
    // The project is told first: a client that sees the final event and reads the project finds it so.
    await options.settle?.(job.projectId);
    options.onEvent(job.id, [ended.event]);
  }

  async function run(job: JobRecord): Promise<void> {
    const jobLog = log.child({ jobId: job.id, projectId: job.projectId });
    const resumes = job.attempt - 1;
    if (resumes > options.maxResumes) {
      jobLog.warn("job's runners kept dying; failing it", { step: job.step, resumes });
      // Whatever reached the sandbox before the runner died goes to the vfs before the job ends.
      await options.salvage?.(job).catch((err: unknown) => jobLog.warn("could not back up the abandoned job's files", errorFields(err)));
      await end(job, {
        status: "failed",
        error: `the servers running this generation stopped ${resumes} times (last during ${job.step.replace(/_/g, " ")}); gave up after ${options.maxResumes} resumes. The files written so far are kept: send a follow-up prompt to continue.`,
      });
      return;
    }
    // The executor continues from what the job saved: its step, its workspace, its transcript.
    if (resumes > 0) await emit(job.id, "resumed", { attempt: job.attempt, step: job.step });

    const controller = new AbortController();
    let cancelled = job.cancelRequested;
    const cancel = () => {
      if (cancelled) return;
      cancelled = true;
      controller.abort(new Error("cancelled"));
    };
    // The agent's time (while the step is `generating`) goes to the job with each heartbeat and step: a
    // resumed job's time limit counts what earlier attempts spent.
    let agentSince: number | null = null;
    /** The agent's time since it was last taken; `next` (a step) starts or stops its counting. */
    const takeAgentTime = (next?: JobStep): number => {
      const now = Date.now();
      const spent = agentSince === null ? 0 : now - agentSince;
      if (next !== undefined) agentSince = next === "generating" ? now : null;
      else if (agentSince !== null) agentSince = now;
      return spent;
    };
    held.set(job.id, { controller, cancel, agentTime: () => takeAgentTime() });

    const ctx: JobContext = {
      job,
      signal: controller.signal,
      step: async (step, progress, detail = {}) => {
        const updated = await store.setStep(job.id, options.workerId, step, progress, takeAgentTime(step));
        if (!updated) throw new LeaseLost("lease lost");
        await emit(job.id, "step", { step, progress: updated.progress, ...detail });
      },
      emit: (type, data) => emit(job.id, type, data),
      recordWorkspace: (workspaceId) => store.recordWorkspace(job.id, options.workerId, workspaceId),
      recordProcess: async (process) => {
        if (!(await store.recordProcess(job.id, options.workerId, process))) throw new LeaseLost("lease lost");
      },
      transcript: () => store.transcript(job.id),
      previousTranscript: () => store.latestTranscript(job.projectId, job.id),
      saveTurn: async (events, transcript) => {
        const stored = await store.saveTurn(job.id, options.workerId, events, transcript);
        if (!stored) throw new LeaseLost("lease lost");
        if (stored.length > 0) options.onEvent(job.id, stored);
      },
    };

    try {
      if (cancelled) controller.abort(new Error("cancelled"));
      const result = await options.execute(ctx);
      if (controller.signal.reason instanceof LeaseLost) return;
      if (cancelled) await end(job, { status: "cancelled", error: "cancelled by the user", summary: result.summary });
      else await end(job, result);
    } catch (err) {
      if (controller.signal.reason instanceof LeaseLost || err instanceof LeaseLost) {
        jobLog.warn("lost the job's lease; another runner takes over");
        return;
      }
      if (cancelled) {
        await end(job, { status: "cancelled", error: "cancelled by the user" });
        return;
      }
      jobLog.error("job failed", errorFields(err));
      await end(job, { status: "failed", error: err instanceof Error ? err.message : String(err), ...(isNotConfigured(err) ? { errorKind: "misconfigured" as const } : {}) });
    } finally {
      held.delete(job.id);
      // Stopping on purpose: let another runner take the job now rather than when the lease lapses.
      if (stopping) await store.release(job.id, options.workerId).catch(() => undefined);
    }
  }

  async function loop(): Promise<void> {
    while (!stopping) {
      let job: JobRecord | null = null;
      try {
        job = await store.claim(options.workerId, options.leaseMs);
      } catch (err) {
        log.warn("could not claim a job", errorFields(err));
      }
      if (job) {
        wakeOne();
        await run(job);
      } else await sleep();
    }
  }

  const loops = Array.from({ length: options.concurrency }, () => loop());
  return {
    wake: wakeOne,
    cancel: (jobId) => held.get(jobId)?.cancel(),
    stop: async () => {
      stopping = true;
      clearInterval(poll);
      clearInterval(heartbeat);
      for (const { controller } of held.values()) controller.abort(new LeaseLost("runner stopping"));
      wakeAll();
      await Promise.all(loops);
    },
  };
}
