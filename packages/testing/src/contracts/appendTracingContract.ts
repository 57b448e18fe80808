import { trace } from '@opentelemetry/api';
import { type EventStore, traceparentOf } from '@tidemark/core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { recordSpans } from '../recordSpans.js';
import type { EventStoreHarness } from './eventStoreHarness.js';
import { useHarness } from './harnessLifetime.js';
import { useStores } from './useStores.js';

/** Runs `work` in an active span named `name`, as a request handler would. */
const inSpan = <T>(name: string, work: () => Promise<T>) =>
  trace.getTracer('contract').startActiveSpan(name, (span) => work().finally(() => span.end()));

/**
 * What every store's append does for tracing: one `tidemark.append` span per append (on the
 * store, in a transaction, with hooks, batched by group commit), a child of the caller's span,
 * whose traceparent each event stores unless the caller set one. Registers an OpenTelemetry SDK
 * for the whole file: run it in a test file of its own.
 */
export function appendTracingContract(adapter: string, harness: EventStoreHarness): void {
  describe(`append tracing contract: ${adapter}`, () => {
    const recorder = recordSpans();
    afterAll(() => recorder.stop());
    afterEach(() => recorder.reset());
    useHarness(harness);
    const open = useStores(harness);
    const appendSpans = () => recorder.spans().filter((span) => span.name === 'tidemark.append');
    const storedTraceparent = async (store: EventStore, streamId: string) => (await store.readStream(streamId))[0]?.metadata.traceparent;

    it("makes one append span per store append, a child of the caller's, and stores its traceparent", async () => {
      const store = await open();
      await inSpan('request', () => store.appendToStream('order-1', [{ type: 'order.created', data: {} }]));
      const [append] = appendSpans();
      expect(appendSpans()).toHaveLength(1);
      expect(append?.parentSpanContext?.spanId).toBe(recorder.span('request').spanContext().spanId);
      expect(await storedTraceparent(store, 'order-1')).toBe(traceparentOf(append!.spanContext()));
    });

    it('keeps concurrent appends in their own traces, however the store batches them', async () => {
      const store = await open();
      await Promise.all(
        Array.from({ length: 4 }, (_, i) =>
          inSpan(`request-${i}`, () => store.appendToStream(`order-${i}`, [{ type: 'order.created', data: {} }])),
        ),
      );
      expect(appendSpans()).toHaveLength(4);
      for (let i = 0; i < 4; i++) {
        const request = recorder.span(`request-${i}`);
        const append = appendSpans().find((span) => span.parentSpanContext?.spanId === request.spanContext().spanId);
        expect(append).toBeDefined();
        expect(await storedTraceparent(store, `order-${i}`)).toBe(traceparentOf(append!.spanContext()));
      }
    });

    it('makes one span for an append in a transaction, and one with append hooks', async () => {
      const store = await open();
      await inSpan('request', () => store.transaction((tx) => tx.appendToStream('order-1', [{ type: 'order.created', data: {} }])));
      expect(appendSpans()).toHaveLength(1);
      expect(await storedTraceparent(store, 'order-1')).toBe(traceparentOf(appendSpans()[0]!.spanContext()));
      recorder.reset();
      store.addAppendHook(async () => {});
      await inSpan('request', () => store.appendToStream('order-2', [{ type: 'order.created', data: {} }]));
      expect(appendSpans()).toHaveLength(1);
      expect(await storedTraceparent(store, 'order-2')).toBe(traceparentOf(appendSpans()[0]!.spanContext()));
    });

    it("keeps the caller's traceparent, and marks a refused append's span failed", async () => {
      const store = await open();
      const own = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
      await inSpan('request', () => store.appendToStream('order-1', [{ type: 'order.created', data: {}, metadata: { traceparent: own } }]));
      expect(await storedTraceparent(store, 'order-1')).toBe(own);
      recorder.reset();
      await expect(
        inSpan('request', () => store.appendToStream('order-2', [{ type: 'order.created', data: undefined }])),
      ).rejects.toThrow();
      expect(appendSpans()[0]?.status.code).toBe(2);
      expect(await store.streamExists('order-2')).toBe(false);
    });
  });
}
