import { trace } from '@opentelemetry/api';
import { recordSpans, waitFor } from '@tidemark/testing';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  createIdempotentHandler,
  createInMemoryCheckpointStore,
  createInMemoryEventStore,
  createInMemoryInbox,
  createInMemoryOutbox,
  createInMemoryTransport,
  createOutboxRelay,
  createProjector,
  type Decider,
  type DeliveredMessage,
  handleCommand,
  type RecordedEvent,
  spanContextOf,
  traceparentOf,
} from '../src/index.js';

const recorder = recordSpans();
afterAll(() => recorder.stop());
const running: Array<{ stop(): Promise<void> }> = [];
afterEach(async () => {
  for (const r of running.splice(0).reverse()) await r.stop();
  recorder.reset();
});

type Deposit = { type: 'account.deposited'; data: { amount: number } };
const accounts: Decider<{ amount: number }, Deposit, number> = {
  initialState: () => 0,
  decide: (command) => [{ type: 'account.deposited', data: { amount: command.amount } }],
  evolve: (balance, event) => balance + event.data.amount,
};

/** A request span, as the shop's HTTP layer starts one. */
const inRequest = <T>(work: () => Promise<T>) =>
  trace.getTracer('test').startActiveSpan('http.request', (span) => work().finally(() => span.end()));

describe('tracing', () => {
  it('runs one trace from the request through the command and append to the projector batch and its read-model write', async () => {
    const store = createInMemoryEventStore();
    const balances = new Map<string, number>();
    const projector = createProjector({
      store,
      checkpoints: createInMemoryCheckpointStore(),
      projection: {
        name: 'balances',
        async apply(events) {
          for (const event of events)
            balances.set(event.streamId, (balances.get(event.streamId) ?? 0) + (event.data as { amount: number }).amount);
        },
      },
    });
    running.push(projector);
    await projector.start();
    const result = await inRequest(() => handleCommand(store, accounts, 'account-1', { amount: 5 }));
    expect(await projector.waitForPosition(result.position, { timeoutMs: 5000 })).toBe(true);
    await waitFor(() => recorder.spans().some((span) => span.name === 'tidemark.projection.apply'), 'the apply span ended');

    const request = recorder.span('http.request');
    const command = recorder.span('tidemark.command');
    const append = recorder.span('tidemark.append');
    const batch = recorder.span('tidemark.projector.batch');
    const apply = recorder.span('tidemark.projection.apply');
    const traceId = request.spanContext().traceId;
    for (const span of [command, append, batch, apply]) expect(span.spanContext().traceId).toBe(traceId);
    expect(command.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
    expect(append.parentSpanContext?.spanId).toBe(command.spanContext().spanId);
    expect(batch.parentSpanContext?.spanId).toBe(append.spanContext().spanId);
    expect(batch.links.map((link) => link.context.spanId)).toEqual([append.spanContext().spanId]);
    expect(apply.parentSpanContext?.spanId).toBe(batch.spanContext().spanId);
    expect(append.attributes).toMatchObject({ 'tidemark.stream_id': 'account-1', 'tidemark.event_count': 1, 'tidemark.position': '1' });
    expect(batch.attributes).toMatchObject({ 'tidemark.projection': 'balances', 'tidemark.event_count': 1 });
    // The event holds the append span's traceparent.
    const [event] = (await store.readStream('account-1')) as [RecordedEvent];
    expect(event.metadata.traceparent).toBe(traceparentOf(append.spanContext()));
  });

  it('keeps a traceparent the caller set, makes one append span per append, and lets a retry in another trace through', async () => {
    const store = createInMemoryEventStore();
    const own = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    await inRequest(() => store.appendToStream('order-1', [{ type: 'order.created', data: {}, metadata: { traceparent: own } }]));
    expect((await store.readStream('order-1'))[0]?.metadata.traceparent).toBe(own);
    expect(recorder.spans().filter((span) => span.name === 'tidemark.append')).toHaveLength(1);

    const id = '0190c2a4-0000-7000-8000-0000000000aa';
    const first = await inRequest(() => store.appendToStream('order-2', [{ id, type: 'order.created', data: {} }]));
    const retried = await inRequest(() => store.appendToStream('order-2', [{ id, type: 'order.created', data: {} }]));
    expect(first.written).toBe(true);
    expect(retried).toMatchObject({ written: false, position: first.position });
  });

  it('marks a refused append span as failed and writes nothing', async () => {
    const store = createInMemoryEventStore();
    await expect(inRequest(() => store.appendToStream('', [{ type: 'x.happened', data: {} }]))).rejects.toThrow('stream id');
    expect(recorder.span('tidemark.append').status.code).toBe(2);
  });

  it('carries the trace into outbox messages, the relay publish and the consumer handling them', async () => {
    const store = createInMemoryEventStore();
    const outbox = createInMemoryOutbox();
    const transport = createInMemoryTransport();
    const handled: DeliveredMessage[] = [];
    running.push(
      await transport.consume(
        { group: 'mailer', types: ['shop.mail.requested'], startFrom: { kind: 'all' } },
        createIdempotentHandler({
          store,
          inbox: createInMemoryInbox(),
          consumer: 'mailer',
          handle: async (message) => void handled.push(message),
        }),
      ),
    );
    const relay = createOutboxRelay({ name: 'mail', store, transport, source: { kind: 'table', outbox } });
    running.push(relay);
    await inRequest(() =>
      store.transaction((tx) => outbox.add(tx, [{ id: 'mail-1', type: 'shop.mail.requested', schemaVersion: 1, key: 'c-1', data: {} }])),
    );
    await relay.start();
    await waitFor(() => recorder.spans().some((span) => span.name === 'tidemark.consume'), 'the consume span ended');

    const request = recorder.span('http.request');
    const publish = recorder.span('tidemark.outbox.publish');
    const consume = recorder.span('tidemark.consume');
    expect(spanContextOf(handled[0]?.headers.traceparent)?.spanId).toBe(request.spanContext().spanId);
    expect(publish.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
    expect(consume.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
    expect(consume.spanContext().traceId).toBe(request.spanContext().traceId);
    expect(consume.attributes).toMatchObject({ 'tidemark.consumer': 'mailer', 'tidemark.message_type': 'shop.mail.requested' });
  });

  it('reads only valid W3C traceparents', () => {
    expect(spanContextOf('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01')).toMatchObject({ traceFlags: 1, isRemote: true });
    for (const bad of [
      undefined,
      42,
      '',
      '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra',
      'ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      '00-00000000000000000000000000000000-b7ad6b7169203331-01',
      '00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01',
      '00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01',
    ]) {
      expect(spanContextOf(bad)).toBeUndefined();
    }
    // A later version may add fields: the first four are read.
    expect(spanContextOf('01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00-more')).toMatchObject({ traceFlags: 0 });
  });
});
