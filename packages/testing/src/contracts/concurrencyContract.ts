import { randomUUID } from 'node:crypto';
import { ConcurrencyError, type EventStore, maxPosition } from '@tidemark/core';
import { describe, expect, it } from 'vitest';
import type { EventStoreHarness } from './eventStoreHarness.js';
import { readAllEvents, waitForHead } from './storeSnapshot.js';
import { useStores } from './useStores.js';

const writers = 20;

/** Read the version, append with it, and on conflict read again: the optimistic-concurrency loop. */
async function appendWithRetry(
  store: EventStore,
  streamId: string,
  writer: number,
): Promise<{ version: number; position: bigint; attempts: number }> {
  for (let attempts = 1; attempts <= 1000; attempts++) {
    const events = await store.readStream(streamId, { direction: 'backwards', limit: 1 });
    const current = events[0]?.version ?? 0;
    try {
      const result = await store.appendToStream(streamId, [{ type: 'counter.incremented', data: { writer } }], {
        expectedVersion: current,
      });
      return { version: result.nextExpectedVersion, position: result.position, attempts };
    } catch (error) {
      if (!(error instanceof ConcurrencyError)) throw error;
      expect(error.actual).toBeGreaterThan(current);
    }
  }
  throw new Error(`writer ${writer} never got through`);
}

export function concurrencyContract(harness: EventStoreHarness): void {
  describe('concurrency', () => {
    const open = useStores(harness);

    it(`gives each version to exactly one of ${writers} concurrent retrying writers, losing nothing`, async () => {
      const store = await open();
      const outcomes = await Promise.all(Array.from({ length: writers }, (_, writer) => appendWithRetry(store, 'counter-1', writer)));
      // Each writer won a distinct version, and together they won exactly 1..N.
      expect(outcomes.map((o) => o.version).sort((a, b) => a - b)).toEqual(Array.from({ length: writers }, (_, i) => i + 1));
      const events = await store.readStream('counter-1');
      expect(events.map((e) => e.version)).toEqual(Array.from({ length: writers }, (_, i) => i + 1));
      expect(events.map((e) => (e.data as { writer: number }).writer).sort((a, b) => a - b)).toEqual(
        Array.from({ length: writers }, (_, i) => i),
      );
      // The version each writer was told it won holds that writer's event.
      for (const [writer, outcome] of outcomes.entries()) {
        expect(events[outcome.version - 1]?.data).toEqual({ writer });
      }
      await waitForHead(store, outcomes.map((o) => o.position).reduce(maxPosition));
      expect(await readAllEvents(store)).toHaveLength(writers);
    });

    it(`lets exactly one of ${writers} writers racing to create a stream (expectedVersion 0) win`, async () => {
      const store = await open();
      const settled = await Promise.allSettled(
        Array.from({ length: writers }, (_, writer) =>
          store.appendToStream('race-1', [{ type: 'race.won', data: { writer } }], { expectedVersion: 0 }),
        ),
      );
      const winners = settled.filter((s) => s.status === 'fulfilled');
      const losers = settled.filter((s) => s.status === 'rejected');
      expect(winners).toHaveLength(1);
      for (const loser of losers) {
        expect(loser.reason).toBeInstanceOf(ConcurrencyError);
        expect((loser.reason as ConcurrencyError).actual).toBe(1);
      }
      const events = await store.readStream('race-1');
      expect(events).toHaveLength(1);
      const winner = settled.findIndex((s) => s.status === 'fulfilled');
      expect(events[0]?.data).toEqual({ writer: winner });
      await waitForHead(store, events[0]?.position ?? 0n);
      expect(await readAllEvents(store)).toHaveLength(1);
    });

    it(`lets exactly one of ${writers} writers with the same stale expected version win`, async () => {
      const store = await open();
      await store.appendToStream('race-2', [{ type: 'race.started', data: {} }]);
      const settled = await Promise.allSettled(
        Array.from({ length: writers }, (_, writer) =>
          store.appendToStream(
            'race-2',
            [
              { type: 'race.lap', data: { writer } },
              { type: 'race.lap', data: { writer } },
            ],
            { expectedVersion: 1 },
          ),
        ),
      );
      expect(settled.filter((s) => s.status === 'fulfilled')).toHaveLength(1);
      const events = await store.readStream('race-2');
      expect(events.map((e) => e.version)).toEqual([1, 2, 3]);
      // Both events of the winning batch, never a mix of two writers' batches.
      expect(events[1]?.data).toEqual(events[2]?.data);
    });

    it(`stores a batch once when ${writers} redeliveries of it (same ids) race, each told the same outcome`, async () => {
      const store = await open();
      const batch = [randomUUID(), randomUUID()].map((id, i) => ({ id, type: 'payment.captured', data: { i } }));
      const results = await Promise.all(
        Array.from({ length: writers }, () => store.appendToStream('payment-1', batch, { expectedVersion: 'no_stream' })),
      );
      expect(results.filter((r) => r.written)).toHaveLength(1);
      const winner = results.find((r) => r.written);
      for (const result of results) {
        expect(result).toMatchObject({ nextExpectedVersion: 2, position: winner?.position });
      }
      await waitForHead(store, winner?.position ?? 0n);
      expect((await readAllEvents(store)).map((e) => e.id)).toEqual(batch.map((e) => e.id));
    });

    it('serves concurrent appends to different streams without losing any', async () => {
      const store = await open();
      const results = await Promise.all(
        Array.from({ length: writers }, (_, writer) =>
          store.appendToStream(`parallel-${writer % 4}`, [{ type: 'p.happened', data: { writer } }], { expectedVersion: 'any' }),
        ),
      );
      await waitForHead(store, results.map((r) => r.position).reduce(maxPosition));
      const all = await readAllEvents(store);
      expect(all).toHaveLength(writers);
      for (let stream = 0; stream < 4; stream++) {
        const events = await store.readStream(`parallel-${stream}`);
        expect(events.map((e) => e.version)).toEqual([1, 2, 3, 4, 5]);
      }
    });
  });
}
