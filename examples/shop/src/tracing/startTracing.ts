import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

/**
 * Exports the shop's spans (its requests, and tidemark's commands, appends, projector batches,
 * publishes and consumers) to an OTLP/HTTP collector. Only when the operator asked, with
 * OTEL_EXPORTER_OTLP_ENDPOINT: otherwise no SDK is registered and tidemark's tracing costs
 * nothing. The exporter reads the endpoint (and OTEL_EXPORTER_OTLP_HEADERS, …) from the
 * environment itself. Returns the shutdown, which flushes what is buffered.
 */
export function startTracing(endpoint: string | undefined): () => Promise<void> {
  if (endpoint === undefined) return async () => {};
  const provider = new NodeTracerProvider({ spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())] });
  // Also the AsyncLocalStorage context manager (the active span follows awaits) and the W3C propagator.
  provider.register();
  return () => provider.shutdown();
}
