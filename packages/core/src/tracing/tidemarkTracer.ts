import {
  type Context,
  context,
  INVALID_SPAN_CONTEXT,
  isSpanContextValid,
  type Link,
  ProxyTracerProvider,
  type Span,
  type SpanOptions,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { spanContextOf } from './traceparent.js';

/**
 * tidemark's tracer, through the OpenTelemetry API only: spans are recorded when the application
 * registers an SDK (a tracer provider), and are no-ops otherwise. Fetched through the global
 * proxy, so a provider registered after this module loaded is still used.
 */
export const tidemarkTracer = trace.getTracer('tidemark');

// The API's own no-op provider: what the global proxy delegates to until an SDK registers one.
const noopProvider = new ProxyTracerProvider().getDelegate();
const noopSpan = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/**
 * Whether an OpenTelemetry SDK has registered a tracer provider. Without one every span is a
 * no-op, and the hot paths (append, a projector batch) skip the span machinery altogether.
 */
export function tracingRegistered(): boolean {
  const provider = trace.getTracerProvider();
  return !(provider instanceof ProxyTracerProvider) || provider.getDelegate() !== noopProvider;
}

/** Marks a span failed with the error that ended its work. */
export function recordSpanError(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}

/**
 * Runs `work` inside a span `name` (a child of `parent`, default the active context) and ends it
 * when the work settles; a rejection marks it failed. With no SDK registered and no parent the
 * span is a no-op and `work` runs directly, without starting a span or entering a context.
 */
export function withSpan<T>(name: string, options: SpanOptions, work: (span: Span) => Promise<T>, parent?: Context): Promise<T> {
  if (parent === undefined && !tracingRegistered()) return work(noopSpan);
  const base = parent ?? context.active();
  const span = tidemarkTracer.startSpan(name, options, base);
  if (!span.isRecording() && !isSpanContextValid(span.spanContext())) {
    span.end();
    return work(span);
  }
  return context.with(trace.setSpan(base, span), async () => {
    try {
      return await work(span);
    } catch (error) {
      recordSpanError(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/**
 * Where handling stored or received work continues its trace: the first valid traceparent
 * becomes the parent (so one trace runs from the request to the last read model) and every
 * distinct one a link (a batch may carry several requests' events). Undefined parent: none held one.
 */
export function traceOrigin(traceparents: Iterable<unknown>): { parent?: Context; links: Link[] } {
  const links: Link[] = [];
  const seen = new Set<string>();
  let parent: Context | undefined;
  for (const traceparent of traceparents) {
    if (typeof traceparent !== 'string' || seen.has(traceparent)) continue;
    const spanContext = spanContextOf(traceparent);
    if (!spanContext) continue;
    seen.add(traceparent);
    parent ??= trace.setSpanContext(context.active(), spanContext);
    links.push({ context: spanContext });
  }
  return parent ? { parent, links } : { links };
}
