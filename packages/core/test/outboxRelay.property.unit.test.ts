import { waitFor } from '@tidemark/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createInMemoryEventStore,
  createInMemoryOutbox,
  createInMemoryTransport,
  createOutboxRelay,
  type OutgoingMessage,
  type Transport,
} from '../src/index.js';

/** What the fault-injecting transport does with the next publish call. */
type Outcome = 'ok' | 'refuse' | 'lose-ack';

interface Scenario {
  /** Messages added per transaction, as key indexes. */
  transactions: number[][];
  /** Publish outcomes in order; every call after the script succeeds. */
  outcomes: Outcome[];
  /** Deliveries after which the relay is stopped and started again (a crash loses what was in flight). */
  restarts: number[];
  batchSize: number;
}

const scenario: fc.Arbitrary<Scenario> = fc.record({
  transactions: fc.array(fc.array(fc.nat(3), { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 12 }),
  outcomes: fc.array(fc.constantFrom<Outcome>('ok', 'ok', 'refuse', 'lose-ack'), { maxLength: 12 }),
  restarts: fc.array(fc.nat(40), { maxLength: 3 }),
  batchSize: fc.integer({ min: 1, max: 6 }),
});

/**
 * The in-memory transport behind a script of faults: `refuse` throws before publishing (the
 * broker is down), `lose-ack` publishes and then throws (the acknowledgement was lost).
 */
function scripted(inner: Transport, outcomes: Outcome[]): Transport {
  let call = 0;
  return {
    ...inner,
    name: inner.name,
    replayable: inner.replayable,
    async publish(messages) {
      const outcome = outcomes[call++] ?? 'ok';
      if (outcome === 'refuse') throw new Error('broker down');
      await inner.publish(messages);
      if (outcome === 'lose-ack') throw new Error('acknowledgement lost');
    },
  };
}

describe('outbox relay (property): whatever fails and restarts, every message is delivered, in order per key, and confirmed only once acknowledged', () => {
  it('holds for random adds, publish failures, lost acknowledgements and restarts', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ transactions, outcomes, restarts, batchSize }) => {
        const store = createInMemoryEventStore();
        const outbox = createInMemoryOutbox();
        const inner = createInMemoryTransport();
        const transport = scripted(inner, outcomes);
        const delivered: string[] = [];
        const consumer = await inner.consume(
          { group: 'g', types: ['test.thing.happened'], startFrom: { kind: 'all' } },
          async (message) => {
            delivered.push(message.id);
          },
        );
        const added: OutgoingMessage[] = [];
        let n = 0;
        for (const keys of transactions) {
          const messages = keys.map((key) => ({
            id: `m${n++}`,
            type: 'test.thing.happened',
            schemaVersion: 1,
            key: `k${key}`,
            data: { n },
          }));
          added.push(...messages);
          await store.transaction((tx) => outbox.add(tx, messages));
        }
        const relayOf = () =>
          createOutboxRelay({
            name: 'p',
            store,
            transport,
            source: { kind: 'table', outbox },
            batchSize,
            pollIntervalMs: 5,
            retry: { initialDelayMs: 1, maxDelayMs: 2 },
          });
        /** Confirmed (not pending) messages must all have reached the transport. */
        const confirmedWereDelivered = async () => {
          const pending = new Set((await store.transaction((tx) => outbox.pending(tx, { limit: 10_000 }))).map((e) => e.message.id));
          for (const message of added) if (!pending.has(message.id)) expect(delivered).toContain(message.id);
        };
        try {
          for (const at of [...restarts].sort((a, b) => a - b)) {
            const relay = relayOf();
            await relay.start();
            await waitFor(() => delivered.length >= Math.min(at, added.length), `${at} deliveries`, 10_000);
            await relay.stop();
            await confirmedWereDelivered();
          }
          const relay = relayOf();
          await relay.start();
          await waitFor(async () => (await store.transaction((tx) => outbox.stats(tx))).backlog === 0, 'an empty backlog', 10_000);
          await relay.stop();
          await confirmedWereDelivered();
          // Every message arrived; the broker's de-duplication made the republished ones arrive once.
          expect([...delivered].sort()).toEqual(added.map((m) => m.id).sort());
          for (const key of ['k0', 'k1', 'k2', 'k3']) {
            const order = added.filter((m) => m.key === key).map((m) => m.id);
            expect(delivered.filter((id) => order.includes(id))).toEqual(order);
          }
        } finally {
          await consumer.stop();
          await inner.close();
        }
      }),
      { numRuns: 40 },
    );
  });
});
