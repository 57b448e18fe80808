import { context, isSpanContextValid, type SpanContext, TraceFlags, trace } from '@opentelemetry/api';

const traceparentPattern = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** The W3C `traceparent` header of a span context: `00-<trace id>-<span id>-<flags>`. */
export function traceparentOf(spanContext: SpanContext): string {
  return `00-${spanContext.traceId}-${spanContext.spanId}-${spanContext.traceFlags & TraceFlags.SAMPLED ? '01' : '00'}`;
}

/**
 * The span context a stored or received `traceparent` names, as a remote parent; undefined for
 * anything that is not a valid W3C traceparent (absent, malformed, version ff, all-zero ids).
 */
export function spanContextOf(traceparent: unknown): SpanContext | undefined {
  if (typeof traceparent !== 'string') return undefined;
  const match = traceparentPattern.exec(traceparent);
  // Version 00 has exactly four fields; a later version may add some (W3C: read the first four).
  if (!match || match[1] === 'ff' || (match[1] === '00' && match[5] !== undefined)) return undefined;
  const spanContext: SpanContext = {
    traceId: match[2] as string,
    spanId: match[3] as string,
    traceFlags: Number.parseInt(match[4] as string, 16) & TraceFlags.SAMPLED,
    isRemote: true,
  };
  return isSpanContextValid(spanContext) ? spanContext : undefined;
}

/**
 * The traceparent of the active span, or undefined when there is none worth propagating (no
 * OpenTelemetry SDK registered, no span started): then nothing is built, so the no-op case
 * costs one context look-up.
 */
export function activeTraceparent(): string | undefined {
  const span = trace.getSpan(context.active());
  if (!span) return undefined;
  const spanContext = span.spanContext();
  return isSpanContextValid(spanContext) ? traceparentOf(spanContext) : undefined;
}
