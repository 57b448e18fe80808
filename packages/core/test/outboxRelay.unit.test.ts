import { waitFor } from '@tidemark/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createInMemoryBroker,
  createInMemoryCheckpointStore,
  createInMemoryEventStore,
  createInMemoryLeases,
  createInMemoryMetrics,
  createInMemoryOutbox,
  createInMemoryTransport,
  createMessageMapper,
  createOutboxRelay,
  type DeliveredMessage,
  type OutboxRelay,
  type OutgoingMessage,
  type Transport,
} from '../src/index.js';

const running: Array<{ stop(): Promise<void> }> = [];
afterEach(async () => {
  for (const r of running.splice(0).reverse()) await r.stop();
});

const msg = (key: string, n: number): OutgoingMessage => ({
  id: `${key}:${n}`,
  type: 'test.thing.happened',
  schemaVersion: 1,
  key,
  data: { key, n },
});

/** Collects what a consumer group receives, in arrival order. */
async function collect(transport: Transport, types = ['test.thing.happened']) {
  const received: DeliveredMessage[] = [];
  running.push(await transport.consume({ group: 'collector', types, startFrom: { kind: 'all' } }, async (m) => void received.push(m)));
  return received;
}

/** The in-memory transport with a switch that makes publish fail, as a broker that is down. */
function withOutage(transport: Transport) {
  let down = false;
  let refused = 0;
  const flaky: Transport = {
    ...transport,
    name: transport.name,
    replayable: transport.replayable,
    async publish(messages) {
      if (down) {
        refused++;
        throw new Error('broker unreachable');
      }
      return transport.publish(messages);
    },
  };
  return {
    transport: flaky,
    set down(value: boolean) {
      down = value;
    },
    get refused() {
      return refused;
    },
  };
}

function start(relay: OutboxRelay): OutboxRelay {
  running.push(relay);
  return relay;
}

describe('outbox relay: table source', () => {
  it('publishes every message once, in order per key, and marks them published', async () => {
    const store = createInMemoryEventStore();
    const outbox = createInMemoryOutbox();
    const transport = createInMemoryTransport();
    running.push({ stop: () => transport.close() });
    const received = await collect(transport);
    const relay = start(createOutboxRelay({ name: 'orders', store, transport, source: { kind: 'table', outbox }, batchSize: 7 }));
    await relay.start();
    const keys = ['a', 'b', 'c'];
    for (let n = 0; n < 30; n++) {
      await store.transaction((tx) =>
        outbox.add(
          tx,
          keys.map((key) => msg(key, n)),
        ),
      );
    }
    await waitFor(() => received.length === 90, '90 deliveries');
    for (const key of keys) {
      expect(received.filter((m) => m.key === key).map((m) => (m.data as { n: number }).n)).toEqual(
        Array.from({ length: 30 }, (_, i) => i),
      );
    }
    await waitFor(async () => (await store.transaction((tx) => outbox.stats(tx))).backlog === 0, 'an empty backlog');
    expect(relay.status()).toMatchObject({ state: 'running', published: 90, failures: 0 });
  });

  it('backs off while the transport fails, confirms nothing unacknowledged, and loses nothing', async () => {
    const store = createInMemoryEventStore();
    const outbox = createInMemoryOutbox();
    const inner = createInMemoryTransport();
    running.push({ stop: () => inner.close() });
    const received = await collect(inner);
    const outage = withOutage(inner);
    const metrics = createInMemoryMetrics();
    outage.down = true;
    const relay = start(
      createOutboxRelay({
        name: 'orders',
        store,
        transport: outage.transport,
        source: { kind: 'table', outbox },
        metrics,
        retry: { initialDelayMs: 5, maxDelayMs: 20 },
      }),
    );
    await relay.start();
    await store.transaction((tx) => outbox.add(tx, [msg('a', 0), msg('a', 1)]));
    await waitFor(() => outage.refused >= 3, 'three refused publishes');
    expect(relay.status()).toMatchObject({ state: 'retrying', lastError: 'broker unreachable' });
    expect((await store.transaction((tx) => outbox.stats(tx))).backlog).toBe(2);
    expect(received).toEqual([]);
    await store.transaction((tx) => outbox.add(tx, [msg('a', 2)]));
    outage.down = false;
    await waitFor(() => received.length === 3, 'the backlog after the outage');
    expect(received.map((m) => m.id)).toEqual(['a:0', 'a:1', 'a:2']);
    await waitFor(() => relay.status().state === 'running', 'running again');
    const labels = { relay: 'orders', transport: 'in-memory' };
    expect(metrics.value('tidemark_outbox_publish_failures_total', labels)).toBeGreaterThanOrEqual(3);
    expect(metrics.value('tidemark_outbox_published_messages_total', labels)).toBe(3);
    await relay.sample();
    expect(metrics.value('tidemark_outbox_backlog_messages', labels)).toBe(0);
    expect(metrics.value('tidemark_outbox_oldest_unpublished_age_seconds', labels)).toBe(0);
  });

  it('reports the backlog and the age of the oldest unpublished message', async () => {
    const store = createInMemoryEventStore();
    const outbox = createInMemoryOutbox();
    const outage = withOutage(createInMemoryTransport());
    outage.down = true;
    const metrics = createInMemoryMetrics();
    const relay = createOutboxRelay({ name: 'r', store, transport: outage.transport, source: { kind: 'table', outbox }, metrics });
    await store.transaction((tx) => outbox.add(tx, [msg('a', 0), msg('b', 0), msg('c', 0)]));
    const sampled = await relay.sample();
    expect(sampled.backlog).toBe(3);
    expect(metrics.value('tidemark_outbox_backlog_messages', { relay: 'r', transport: 'in-memory' })).toBe(3);
    expect(metrics.value('tidemark_outbox_oldest_unpublished_age_seconds', { relay: 'r', transport: 'in-memory' })).toBeGreaterThanOrEqual(
      0,
    );
    expect(relay.status().oldestUnpublishedAt).toBeInstanceOf(Date);
  });

  it('runs one active relay per outbox: a standby takes over when the holder stops', async () => {
    const store = createInMemoryEventStore();
    const outbox = createInMemoryOutbox();
    const broker = createInMemoryBroker();
    const consumerSide = createInMemoryTransport({ broker });
    running.push({ stop: () => consumerSide.close() });
    const received = await collect(consumerSide);
    const leases = createInMemoryLeases({ ttlMs: 10_000 });
    const relays = [0, 1].map((i) =>
      createOutboxRelay({
        name: 'orders',
        store,
        transport: createInMemoryTransport({ broker }),
        source: { kind: 'table', outbox },
        lease: leases.lease('outbox-relay:orders'),
        leaseRetryMs: 10,
        pollIntervalMs: 20 + i,
      }),
    );
    const [first, second] = relays as [OutboxRelay, OutboxRelay];
    await first.start();
    await waitFor(() => first.status().state === 'running', 'the first relay running');
    start(second);
    await second.start();
    await waitFor(() => second.status().state === 'standby', 'the second relay on standby');
    await store.transaction((tx) => outbox.add(tx, [msg('a', 0), msg('a', 1)]));
    await waitFor(() => received.length === 2, 'the first messages');
    expect(second.status().published).toBe(0);
    await first.stop();
    await waitFor(() => second.status().state === 'running', 'the standby taking over');
    await store.transaction((tx) => outbox.add(tx, [msg('a', 2)]));
    await waitFor(() => received.length === 3, 'the message after the failover');
    expect(received.map((m) => m.id)).toEqual(['a:0', 'a:1', 'a:2']);
    expect(second.status().published).toBe(1);
  });

  it('refuses bad options', () => {
    const store = createInMemoryEventStore();
    const transport = createInMemoryTransport();
    const source = { kind: 'table', outbox: createInMemoryOutbox() } as const;
    expect(() => createOutboxRelay({ name: '', store, transport, source })).toThrow(/name/);
    expect(() => createOutboxRelay({ name: 'r', store, transport, source, batchSize: 0 })).toThrow(/batchSize/);
    expect(() => createOutboxRelay({ name: 'r', store, transport, source: { kind: 'nope' } as never })).toThrow(/source/);
  });
});

describe('outbox relay: the event log as the outbox', () => {
  const mapper = createMessageMapper({
    'order.placed': {
      type: 'shop.order.placed',
      schemaVersion: 2,
      // The public payload: renamed and without the internal field.
      data: (event) => {
        const { customerId, total } = event.data as { customerId: string; total: number; internalScore: number };
        return { customer: customerId, total };
      },
    },
    'order.cancelled': { type: 'shop.order.cancelled', data: () => ({}), filter: (event) => event.metadata.userId !== 'system' },
  });

  it('publishes mapped events from its checkpoint, leaves private ones out, and resumes where it confirmed', async () => {
    const store = createInMemoryEventStore();
    const checkpoints = createInMemoryCheckpointStore();
    const transport = createInMemoryTransport();
    running.push({ stop: () => transport.close() });
    const received = await collect(transport, ['shop.order.placed', 'shop.order.cancelled']);
    const relayOf = () => createOutboxRelay({ name: 'shop-events', store, transport, source: { kind: 'log', checkpoints, mapper } });
    const relay = relayOf();
    await relay.start();
    await store.appendToStream('order-1', [
      { type: 'order.placed', data: { customerId: 'c1', total: 10, internalScore: 7 }, metadata: { correlationId: 'corr-1' } },
      { type: 'order.internal-note', data: { note: 'private' } },
      { type: 'order.cancelled', data: {}, metadata: { userId: 'system' } },
      { type: 'order.cancelled', data: {}, metadata: { userId: 'u1' } },
    ]);
    await waitFor(() => received.length === 2, 'two public messages');
    const [placed, cancelled] = received as [DeliveredMessage, DeliveredMessage];
    expect(placed).toMatchObject({ type: 'shop.order.placed', schemaVersion: 2, key: 'order-1', data: { customer: 'c1', total: 10 } });
    expect(placed.data).not.toHaveProperty('internalScore');
    expect(placed.headers).toMatchObject({ correlationId: 'corr-1' });
    expect(cancelled.type).toBe('shop.order.cancelled');
    const events = await store.readStream('order-1');
    expect(placed.id).toBe(events[0]?.id);
    await waitFor(
      async () => (await store.transaction((tx) => checkpoints.load('shop-events', tx)))?.position === events[3]?.position,
      'the checkpoint past the last event',
    );
    await relay.stop();
    // A new relay resumes after the checkpoint: nothing is published twice.
    await store.appendToStream('order-2', [{ type: 'order.placed', data: { customerId: 'c2', total: 5, internalScore: 1 } }]);
    const again = start(relayOf());
    await again.start();
    await waitFor(() => received.length === 3, 'the third message');
    expect(received.map((m) => m.key)).toEqual(['order-1', 'order-1', 'order-2']);
    expect((await again.sample()).backlog).toBe(0);
  });
});
