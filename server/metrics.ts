import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { JobMetrics } from "../ai/jobs/pipeline";
import type { JobStatus } from "../ai/jobs/store";

/** The standalone server's Prometheus metrics: what operators watch. */
export interface KilnMetrics extends JobMetrics {
  registry: Registry;
  /** One HTTP request answered. */
  httpRequest(method: string, route: string, status: number, seconds: number): void;
}

/** Builds the metrics; `jobCounts` is asked at every scrape (jobs by status; queued is the queue depth). */
export function createMetrics(jobCounts: () => Promise<Record<JobStatus, number>>): KilnMetrics {
  const registry = new Registry();
  new Gauge({
    name: "kiln_generations",
    help: "Generation jobs by status (queued is the queue depth)",
    labelNames: ["status"],
    registers: [registry],
    async collect() {
      for (const [status, count] of Object.entries(await jobCounts())) this.set({ status }, count);
    },
  });
  const toolCalls = new Histogram({
    name: "kiln_tool_call_duration_seconds",
    help: "Agent tool calls by tool and outcome",
    labelNames: ["tool", "ok"],
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300],
    registers: [registry],
  });
  const tokens = new Counter({ name: "kiln_model_tokens_total", help: "Model tokens used, by kind", labelNames: ["kind"], registers: [registry] });
  const requests = new Histogram({
    name: "kiln_http_request_duration_seconds",
    help: "HTTP requests by method, route and status",
    labelNames: ["method", "route", "status"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
    registers: [registry],
  });
  return {
    registry,
    toolCall: (tool, ok, ms) => toolCalls.observe({ tool, ok: String(ok) }, ms / 1000),
    tokens: (usage) => {
      tokens.inc({ kind: "input" }, usage.inputTokens);
      tokens.inc({ kind: "output" }, usage.outputTokens);
      tokens.inc({ kind: "cache_read" }, usage.cacheReadTokens);
      tokens.inc({ kind: "cache_write" }, usage.cacheWriteTokens);
    },
    httpRequest: (method, route, status, seconds) => requests.observe({ method, route, status: String(status) }, seconds),
  };
}
