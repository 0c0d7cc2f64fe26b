import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import type { Config } from "../lib/config";
import type { Logger } from "../lib/log";

/**
 * Exports traces over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set (spans for each job, model
 * call, tool call, sandbox operation and vfs backup; the Anthropic SDK adds its own); silent otherwise.
 */
export function startTelemetry(config: Pick<Config, "otelEndpoint">, log: Logger): { shutdown(): Promise<void> } {
  if (!config.otelEndpoint) return { shutdown: async () => undefined };
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ "service.name": "kiln" }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  provider.register();
  log.info("exporting traces over OTLP", { endpoint: config.otelEndpoint });
  return { shutdown: () => provider.shutdown() };
}
