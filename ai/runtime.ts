import { AsyncLocalStorage } from "node:async_hooks";
import type Anthropic from "@anthropic-ai/sdk";
import type pg from "pg";
import type { Config } from "../lib/config";
import { summarize } from "../lib/health";
import { newId } from "../lib/ids";
import type { Logger } from "../lib/log";
import type { NotConfigured } from "../lib/startup";
import type { ProjectsApi } from "../projects/contract";
import type { VfsApi } from "../vfs/contract";
import type { WorkspaceApi } from "../workspace/contract";
import type { AiApi } from "./contract";
import type { JobVfs } from "./jobs/adapters";
import { LiveEvents } from "./jobs/live";
import { createApprovalStore } from "./approvals/store";
import { postgresChannel } from "./jobs/notify";
import { PreviewBrowser } from "./checks/browser";
import { launchChromium } from "./checks/chromium";
import { createPipeline, createSalvage, type JobMetrics } from "./jobs/pipeline";
import { startRunner, type Runner } from "./jobs/runner";
import { createProjectState, type ProjectState } from "./jobs/project-state";
import { createJobStore } from "./jobs/store";
import { agentLimits } from "./limits";
import { createAiService } from "./service";
import { leavingVersions } from "./versions";

/** What the ai service and its job runner need, in either runtime. */
export interface AiRuntimeDeps {
  db: pg.Pool;
  projects: Pick<ProjectsApi, "get" | "recordActivity" | "appendMessage" | "conversation">;
  workspace: WorkspaceApi;
  vfs: JobVfs & Pick<VfsApi, "health" | "recordVersion">;
  anthropic: Anthropic;
  config: Config;
  metrics?: JobMetrics;
  /**
   * Why generations cannot run at all (the model's secret is missing): health reports it, starting a
   * generation answers it, and no runner starts. Everything else (listing, events, cancel) still works.
   */
  unconfigured?: NotConfigured;
  log: Logger;
}

/**
 * The async context this module was loaded in: a service's modules load when it starts, before any
 * request, so it holds no request. Encore keeps the current request in an AsyncLocalStorage and every
 * `~encore/clients` call sends it along (its trace, and its caller's auth unless `authData` is given):
 * the runner runs in this context, so its calls never carry the request that happened to start it.
 */
const serviceContext = AsyncLocalStorage.snapshot();

/** A runner that runs nothing (no model to run jobs with). */
const IDLE_RUNNER: Runner = { wake: () => undefined, cancel: () => undefined, stop: async () => undefined };

/** The ai service with its job runner started: the same assembly under Encore and in standalone. */
export function startAiRuntime(deps: AiRuntimeDeps): { ai: AiApi; runner: Runner } {
  const { config, log } = deps;
  const live = new LiveEvents(postgresChannel(deps.db, { log }));
  const store = createJobStore(deps.db);
  const projectState = createProjectState({ store, projects: deps.projects, log });
  const jobRunner = deps.unconfigured ? IDLE_RUNNER : serviceContext(() => startJobRunner(deps, store, live, projectState));
  const runner: Runner = { ...jobRunner, stop: () => jobRunner.stop().finally(() => live.close()) };
  const service = createAiService({
    db: deps.db,
    projects: deps.projects,
    projectState,
    workspace: deps.workspace,
    vfs: deps.vfs,
    live,
    // Waking and cancelling run in the service's context too: a cancel's abort handlers call other services.
    wakeRunner: () => serviceContext(runner.wake),
    cancelRunning: (jobId) => serviceContext(() => runner.cancel(jobId)),
    model: config.model,
    sseHeartbeatMs: 15_000,
    log,
  });
  const reason = deps.unconfigured;
  if (!reason) return { ai: service, runner };
  log.error("generations cannot run", { reason: reason.message });
  const ai: AiApi = {
    ...service,
    health: async () => {
      const report = await service.health();
      return summarize("ai", [...report.checks, { name: reason.check, status: "fail", detail: reason.message, latencyMs: 0 }]);
    },
    start: async () => {
      throw reason;
    },
  };
  return { ai, runner };
}

/** How often a runner's process tells projects the state a dead or failing teller left untold. */
const PROJECT_SWEEP_MS = 5_000;

function startJobRunner(deps: AiRuntimeDeps, store: ReturnType<typeof createJobStore>, live: LiveEvents, projectState: ProjectState): Runner {
  const { config, log } = deps;
  // One browser per process, launched at the first check and closed with the runner.
  const browser = new PreviewBrowser(() => launchChromium(config.chromiumPath));
  const runner = startRunner({
    store,
    execute: leavingVersions(createPipeline({
      projects: deps.projects,
      projectState,
      workspace: deps.workspace,
      vfs: deps.vfs,
      anthropic: deps.anthropic,
      model: config.model,
      limits: agentLimits(config),
      approvals: { store: createApprovalStore(deps.db), live, timeoutMs: config.approvalTimeoutSeconds * 1000, pollMs: 500 },
      workspacePollMs: config.workspacePollMs,
      workspaceReadyTimeoutMs: config.workspaceReadyTimeoutMs,
      checks: {
        browser,
        commandTimeoutMs: config.checkTimeoutSeconds * 1000,
        browserTimeoutMs: config.browserCheckTimeoutMs,
        maxFailedCompletions: config.maxFailedCompletions,
      },
      metrics: deps.metrics,
      log,
    }), deps.vfs, log),
    workerId: newId("wrk"),
    concurrency: config.runnerConcurrency,
    leaseMs: config.runnerLeaseMs,
    pollMs: 1000,
    maxResumes: config.runnerMaxResumes,
    onEvent: (jobId, events) => live.notify(jobId, events),
    salvage: createSalvage({ vfs: deps.vfs }),
    settle: (projectId) => projectState.settle(projectId),
    log,
  });
  const stopSweeper = projectState.startSweeper(PROJECT_SWEEP_MS);
  return {
    ...runner,
    stop: async () => {
      stopSweeper();
      await runner.stop();
      await browser.close();
    },
  };
}
