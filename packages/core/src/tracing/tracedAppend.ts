import { context, createContextKey, isSpanContextValid, SpanKind, trace } from '@opentelemetry/api';
import type { NewEvent } from '../domain/event.js';
import type { AppendOptions, AppendResult } from '../eventStore/eventStore.js';
import { recordSpanError, tidemarkTracer, tracingRegistered } from './tidemarkTracer.js';
import { traceparentOf } from './traceparent.js';

/** An adapter's appendToStream, on the store or on a transaction. */
export type AppendFunction = (streamId: string, events: readonly NewEvent[], options?: AppendOptions) => Promise<AppendResult>;

// Set inside an append span: the store-level append of an adapter reaches its transaction's
// append, which must not open a second span (nor stamp again).
const insideAppend = createContextKey('tidemark.append');

const isPlainMetadata = (metadata: unknown) =>
  metadata === undefined || metadata === null || (typeof metadata === 'object' && !Array.isArray(metadata));

/**
 * Wraps an adapter's append in a `tidemark.append` span and stores the W3C `traceparent` of
 * that span in the metadata of each event whose caller set none, so projectors and consumers
 * handling the event later continue the same trace. With no OpenTelemetry SDK registered the
 * span is a no-op: nothing is copied, no string is built.
 */
export function tracedAppend(append: AppendFunction): AppendFunction {
  return (streamId, events, options) => {
    if (!tracingRegistered()) return append(streamId, events, options);
    const active = context.active();
    if (active.getValue(insideAppend) === true) return append(streamId, events, options);
    const span = tidemarkTracer.startSpan('tidemark.append', { kind: SpanKind.INTERNAL }, active);
    const spanContext = span.spanContext();
    if (!isSpanContextValid(spanContext)) {
      span.end();
      return append(streamId, events, options);
    }
    span.setAttribute('tidemark.stream_id', String(streamId));
    if (Array.isArray(events)) span.setAttribute('tidemark.event_count', events.length);
    const traceparent = traceparentOf(spanContext);
    // Only well-formed events are stamped; anything else goes through untouched for the
    // adapter's validation to refuse (spreading a string would turn it into an object).
    const stamped = Array.isArray(events)
      ? events.map((event) =>
          event !== null && typeof event === 'object' && isPlainMetadata(event.metadata) && event.metadata?.traceparent === undefined
            ? { ...event, metadata: { ...event.metadata, traceparent } }
            : event,
        )
      : events;
    return context.with(trace.setSpan(active, span).setValue(insideAppend, true), async () => {
      try {
        const result = await append(streamId, stamped, options);
        span.setAttribute('tidemark.position', String(result.position));
        span.setAttribute('tidemark.stream_version', result.nextExpectedVersion);
        return result;
      } catch (error) {
        recordSpanError(span, error);
        throw error;
      } finally {
        span.end();
      }
    });
  };
}
