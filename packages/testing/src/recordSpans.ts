import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';

export interface SpanRecorder {
  /** The spans ended so far, in the order they ended. */
  spans(): ReadableSpan[];
  /** The one ended span named `name` (throws when there are none or several). */
  span(name: string): ReadableSpan;
  reset(): void;
  /** Unregisters the provider and the context manager (call in afterAll). */
  stop(): Promise<void>;
}

/**
 * Registers an OpenTelemetry SDK for a test file: a tracer provider exporting every ended span
 * to memory, and the AsyncLocalStorage context manager (so the active span follows awaits).
 * The registration is global to the process: one recorder per test file.
 */
export function recordSpans(): SpanRecorder {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  trace.setGlobalTracerProvider(provider);
  return {
    spans: () => exporter.getFinishedSpans(),
    span(name) {
      const found = exporter.getFinishedSpans().filter((span) => span.name === name);
      if (found.length !== 1) throw new Error(`Expected one span named ${name}, found ${found.length}`);
      return found[0] as ReadableSpan;
    },
    reset: () => exporter.reset(),
    async stop() {
      await provider.shutdown();
      trace.disable();
      context.disable();
    },
  };
}
