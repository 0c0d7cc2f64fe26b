import type Anthropic from "@anthropic-ai/sdk";
import type pg from "pg";
import type { Config } from "../lib/config";
import { newId } from "../lib/ids";
import type { Logger } from "../lib/log";
import type { ProjectsApi } from "../projects/contract";
import type { VfsApi } from "../vfs/contract";
import type { WorkspaceApi } from "../workspace/contract";
import type { AiApi } from "./contract";
import type { JobVfs } from "./jobs/adapters";
import { LiveEvents } from "./jobs/live";
import { createPipeline, createSalvage, type JobMetrics } from "./jobs/pipeline";
import { startRunner, type Runner } from "./jobs/runner";
import { createJobStore } from "./jobs/store";
import { agentLimits } from "./limits";
import { createAiService } from "./service";

/** What the ai service and its job runner need, in either runtime. */
export interface AiRuntimeDeps {
  db: pg.Pool;
  projects: Pick<ProjectsApi, "get" | "recordActivity" | "appendMessage" | "conversation">;
  workspace: WorkspaceApi;
  vfs: JobVfs & Pick<VfsApi, "health">;
  anthropic: Anthropic;
  config: Config;
  metrics?: JobMetrics;
  log: Logger;
}

/** The ai service with its job runner started: the same assembly under Encore and in standalone. */
export function startAiRuntime(deps: AiRuntimeDeps): { ai: AiApi; runner: Runner } {
  const { config, log } = deps;
  const live = new LiveEvents();
  const store = createJobStore(deps.db);
  const runner = startRunner({
    store,
    execute: createPipeline({
      projects: deps.projects,
      workspace: deps.workspace,
      vfs: deps.vfs,
      anthropic: deps.anthropic,
      model: config.model,
      limits: agentLimits(config),
      workspacePollMs: config.workspacePollMs,
      workspaceReadyTimeoutMs: config.workspaceReadyTimeoutMs,
      metrics: deps.metrics,
      log,
    }),
    workerId: newId("wrk"),
    concurrency: config.runnerConcurrency,
    leaseMs: config.runnerLeaseMs,
    pollMs: 1000,
    maxAttempts: 3,
    onEvent: (jobId) => live.notify(jobId),
    salvage: createSalvage({ vfs: deps.vfs }),
    log,
  });
  const ai = createAiService({
    db: deps.db,
    projects: deps.projects,
    workspace: deps.workspace,
    vfs: deps.vfs,
    live,
    wakeRunner: runner.wake,
    cancelRunning: runner.cancel,
    model: config.model,
    sseHeartbeatMs: 15_000,
    log,
  });
  return { ai, runner };
}
