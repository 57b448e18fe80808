import {
  createInMemoryTransport,
  createMessageMapper,
  createOutboxRelay,
  type DeliveredMessage,
  type OutboxRelay,
  type OutboxRelayOptions,
  type StoreTransaction,
  type Transport,
} from '@tidemark/core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../waitFor.js';
import { createManualClock } from './manualClock.js';
import type { MessagingHarness } from './messagingHarness.js';

const day = 24 * 60 * 60 * 1000;

/**
 * The relay on each store: the outbox table published in order per key and kept for the
 * retention period, then deleted; the event log published through a mapper from a checkpoint
 * in the store. The transport is the in-memory one (the transports have their own contract).
 */
export function outboxRelayContract<Tx extends StoreTransaction>(adapter: string, harness: MessagingHarness<Tx>): void {
  describe(`Outbox relay contract: ${adapter}`, () => {
    const running: Array<() => Promise<void>> = [];
    afterEach(async () => {
      for (const stop of running.splice(0).reverse()) await stop();
    });
    // As the other messaging contracts do: without it the stores' schemas outlived every run.
    afterAll(async () => {
      await harness.teardown?.();
    });
    const world = async () => {
      const clock = createManualClock(new Date('2026-01-01T00:00:00.000Z'));
      const created = await harness.create(clock);
      const transport = createInMemoryTransport();
      const received: DeliveredMessage[] = [];
      const consumer = await transport.consume(
        { group: 'contract', types: ['test.thing.happened', 'test.order.placed'], startFrom: { kind: 'all' } },
        async (message) => void received.push(message),
      );
      running.push(async () => {
        await consumer.stop();
        await transport.close();
        await created.store.close();
      });
      return { clock, transport, received, ...created };
    };
    const start = async (relay: OutboxRelay) => {
      running.push(() => relay.stop());
      await relay.start();
      return relay;
    };
    const relayOf = <T extends StoreTransaction>(options: Omit<OutboxRelayOptions<T>, 'transport'>, transport: Transport) =>
      createOutboxRelay<T>({ pollIntervalMs: 20, ...options, transport });

    it('publishes the outbox table in order per key, then keeps the rows for the retention period only', async () => {
      const { store, outbox, clock, transport, received } = await world();
      await start(relayOf({ name: 'orders', store, source: { kind: 'table', outbox }, batchSize: 4, cleanupIntervalMs: 20 }, transport));
      const add = (round: number) =>
        store.transaction((tx) =>
          outbox.add(
            tx,
            ['k1', 'k2', 'k3'].map((key) => ({
              id: `${key}-${round}`,
              type: 'test.thing.happened',
              schemaVersion: 1,
              key,
              data: { round },
            })),
          ),
        );
      for (let round = 0; round < 5; round++) await add(round);
      await waitFor(() => received.length === 15, 'the first 15 messages', 15_000);
      for (const key of ['k1', 'k2', 'k3']) {
        expect(received.filter((m) => m.key === key).map((m) => (m.data as { round: number }).round)).toEqual([0, 1, 2, 3, 4]);
      }
      await waitFor(
        async () => (await store.transaction((tx) => outbox.stats(tx))).retained === 15,
        'all 15 marked published and retained',
        15_000,
      );
      // Eight days later: the old rows are past the default seven days, the new ones are not.
      clock.advance(8 * day);
      await add(5);
      await waitFor(
        async () => {
          const stats = await store.transaction((tx) => outbox.stats(tx));
          return stats.backlog === 0 && stats.retained === 3;
        },
        'the old rows deleted, the new ones published and kept',
        15_000,
      );
      expect(received).toHaveLength(18);
    });

    it('publishes the event log through a mapper, from a checkpoint kept in the store', async () => {
      const { store, checkpoints, transport, received } = await world();
      const mapper = createMessageMapper({
        'order.placed': {
          type: 'test.order.placed',
          data: (event) => ({ order: event.streamId, total: (event.data as { total: number }).total }),
        },
      });
      await start(relayOf({ name: 'events', store, source: { kind: 'log', checkpoints, mapper } }, transport));
      for (let i = 0; i < 6; i++) {
        await store.appendToStream(`order-${i % 2}`, [
          { type: 'order.placed', data: { total: i, secret: 'internal' } },
          { type: 'order.noted', data: {} },
        ]);
      }
      await waitFor(() => received.length === 6, 'six public messages', 15_000);
      expect(received.map((m) => m.data)).toEqual([0, 1, 2, 3, 4, 5].map((total) => ({ order: `order-${total % 2}`, total })));
      const events = [];
      for await (const event of store.readAll()) events.push(event);
      const last = events[events.length - 1]?.position;
      await waitFor(
        async () => (await store.transaction((tx) => checkpoints.load('events', tx)))?.position === last,
        'the checkpoint at the head',
        15_000,
      );
    });
  });
}
