import { SpanStatusCode, trace, type Attributes, type Span } from "@opentelemetry/api";

const tracer = trace.getTracer("kiln");

/**
 * Runs `work` inside a span named `name` (a no-op unless a tracer provider is registered: with
 * OTEL_EXPORTER_OTLP_ENDPOINT in standalone). Failures are recorded on the span and rethrown; `work`
 * may add attributes it learns (token counts, sizes) through the span it is given.
 */
export function inSpan<T>(name: string, attributes: Attributes, work: (span: Span) => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await work(span);
    } catch (err) {
      span.recordException(err instanceof Error ? err : String(err));
      span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
      throw err;
    } finally {
      span.end();
    }
  });
}
