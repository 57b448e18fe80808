import { StreamDeletedError, StreamNotFoundError, StreamTruncatedError, ValidationError } from '@tidemark/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { EventStoreHarness } from './eventStoreHarness.js';
import { caught, expectUnchanged, readAllEvents, storeSnapshot, waitForHead } from './storeSnapshot.js';
import { useStores } from './useStores.js';

const counter = {
  initialState: () => 0,
  evolve: (state: number) => state + 1,
};

const tick = (n: number) => ({ type: 'counter.ticked', data: { n } });

/**
 * Tombstones and truncation, alike on every adapter (see StreamLifecycle): a deleted stream
 * refuses appends and per-stream reads with StreamDeletedError while readAll keeps its events;
 * a truncated one keeps its later events, versions and global positions.
 */
export function streamLifecycleContract(harness: EventStoreHarness): void {
  describe('stream lifecycle (tombstones, truncation)', () => {
    const open = useStores(harness);

    async function withStreams() {
      const store = await open();
      await store.appendToStream('counter-1', [tick(1), tick(2), tick(3)]);
      const last = await store.appendToStream('counter-2', [tick(1)]);
      await waitForHead(store, last.position);
      return store;
    }

    it('refuses appends to a tombstoned stream with nothing written, and its reads say so', async () => {
      const store = await withStreams();
      await store.tombstoneStream('counter-1');
      const before = await storeSnapshot(store);
      for (const expectedVersion of [undefined, 3, 'any'] as const) {
        const error = await caught(
          () => store.appendToStream('counter-1', [tick(4)], expectedVersion === undefined ? {} : { expectedVersion }),
          StreamDeletedError,
        );
        expect(error).toMatchObject({ code: 'stream_deleted', details: { streamId: 'counter-1' } });
      }
      await expect(store.transaction((tx) => tx.appendToStream('counter-1', [tick(4)]))).rejects.toBeInstanceOf(StreamDeletedError);
      await expectUnchanged(store, before);
      await expect(store.readStream('counter-1')).rejects.toBeInstanceOf(StreamDeletedError);
      await expect(store.streamExists('counter-1')).rejects.toBeInstanceOf(StreamDeletedError);
      await expect(store.aggregateStream('counter-1', counter)).rejects.toBeInstanceOf(StreamDeletedError);
      await expect(store.transaction((tx) => tx.readStream('counter-1'))).rejects.toBeInstanceOf(StreamDeletedError);
      // The global log keeps them: projections and rebuilds see what happened.
      expect((await readAllEvents(store)).filter((e) => e.streamId === 'counter-1')).toHaveLength(3);
      // Other streams live on.
      expect(await store.aggregateStream('counter-2', counter)).toMatchObject({ state: 1, version: 1 });
      await store.appendToStream('counter-2', [tick(2)], { expectedVersion: 1 });
    });

    it('tombstones idempotently, and refuses a stream that does not exist', async () => {
      const store = await withStreams();
      await store.tombstoneStream('counter-2');
      await store.tombstoneStream('counter-2');
      await expect(store.readStream('counter-2')).rejects.toBeInstanceOf(StreamDeletedError);
      const error = await caught(() => store.tombstoneStream('counter-9'), StreamNotFoundError);
      expect(error).toMatchObject({ code: 'not_found' });
      // Refusing it wrote nothing: the name is still free.
      await store.appendToStream('counter-9', [tick(1)], { expectedVersion: 'no_stream' });
      await expect(store.tombstoneStream('')).rejects.toBeInstanceOf(ValidationError);
    });

    it('truncates a stream before a version: versions, positions and appends carry on', async () => {
      const store = await withStreams();
      const all = await readAllEvents(store);
      const kept = all.filter((e) => !(e.streamId === 'counter-1' && e.version < 3));
      const head = await store.headPosition();
      expect(await store.truncateStream('counter-1', { beforeVersion: 3 })).toEqual({ removed: 2, firstVersion: 3 });
      expect((await store.readStream('counter-1')).map((e) => e.version)).toEqual([3]);
      expect((await store.readStream('counter-1', { direction: 'backwards' })).map((e) => e.version)).toEqual([3]);
      // The rest of the log is untouched, positions and all.
      expect((await readAllEvents(store)).map((e) => [e.id, e.position])).toEqual(kept.map((e) => [e.id, e.position]));
      expect(await store.headPosition()).toBe(head);
      // Folding from the first event would be wrong now: said so, not silently.
      const error = await caught(() => store.aggregateStream('counter-1', counter), StreamTruncatedError);
      expect(error).toMatchObject({ code: 'stream_truncated', details: { streamId: 'counter-1', firstVersion: 3 } });
      expect(await store.streamExists('counter-1')).toBe(true);
      const next = await store.appendToStream('counter-1', [tick(4)], { expectedVersion: 3 });
      expect(next.nextExpectedVersion).toBe(4);
      expect(next.position > head).toBe(true);
      // Truncating less than before removes nothing and keeps the first version.
      expect(await store.truncateStream('counter-1', { beforeVersion: 2 })).toEqual({ removed: 0, firstVersion: 3 });
    });

    it('refuses bad truncations with typed errors and nothing removed', async () => {
      const store = await withStreams();
      const before = await storeSnapshot(store);
      for (const beforeVersion of [1, 0, 1.5, Number.NaN, '2' as unknown as number]) {
        await expect(store.truncateStream('counter-1', { beforeVersion })).rejects.toBeInstanceOf(ValidationError);
      }
      // The last event always stays.
      await expect(store.truncateStream('counter-1', { beforeVersion: 4 })).rejects.toBeInstanceOf(ValidationError);
      await expect(store.truncateStream('counter-9', { beforeVersion: 2 })).rejects.toBeInstanceOf(StreamNotFoundError);
      await store.tombstoneStream('counter-1');
      await expect(store.truncateStream('counter-1', { beforeVersion: 2 })).rejects.toBeInstanceOf(StreamDeletedError);
      await expectUnchanged(store, before);
    });
  });
}

type LifecycleOp =
  | { kind: 'append'; stream: number; count: number }
  | { kind: 'tombstone'; stream: number }
  | { kind: 'truncate'; stream: number; before: number };

const lifecycleOp: fc.Arbitrary<LifecycleOp> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('append' as const), stream: fc.nat(1), count: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('tombstone' as const), stream: fc.nat(1) }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('truncate' as const), stream: fc.nat(1), before: fc.integer({ min: 2, max: 8 }) }),
  },
);

/**
 * Any sequence of appends, tombstones and truncations against a model: every call succeeds or
 * fails exactly when the model says, and afterwards every stream reads back as the model holds it.
 */
export function streamLifecycleModelContract(harness: EventStoreHarness): void {
  describe('stream lifecycle against a model (property)', () => {
    const open = useStores(harness, 'all');
    let run = 0;

    it('agrees with the model on versions, errors and what reads return', async () => {
      const store = await open();
      await fc.assert(
        fc.asyncProperty(fc.array(lifecycleOp, { maxLength: 12 }), async (ops) => {
          run++;
          const ids = [`life${run}-a`, `life${run}-b`];
          const model = ids.map(() => ({ version: 0, first: 1, deleted: false }));
          for (const op of ops) {
            const id = ids[op.stream] as string;
            const m = model[op.stream] as (typeof model)[number];
            if (op.kind === 'append') {
              const attempt = store.appendToStream(
                id,
                Array.from({ length: op.count }, (_, i) => tick(i)),
                { expectedVersion: m.version },
              );
              if (m.deleted) await expect(attempt).rejects.toBeInstanceOf(StreamDeletedError);
              else {
                expect((await attempt).nextExpectedVersion).toBe(m.version + op.count);
                m.version += op.count;
              }
            } else if (op.kind === 'tombstone') {
              const attempt = store.tombstoneStream(id);
              if (m.version === 0) await expect(attempt).rejects.toBeInstanceOf(StreamNotFoundError);
              else {
                await attempt;
                m.deleted = true;
              }
            } else {
              const attempt = store.truncateStream(id, { beforeVersion: op.before });
              if (m.version === 0) await expect(attempt).rejects.toBeInstanceOf(StreamNotFoundError);
              else if (m.deleted) await expect(attempt).rejects.toBeInstanceOf(StreamDeletedError);
              else if (op.before > m.version) await expect(attempt).rejects.toBeInstanceOf(ValidationError);
              else {
                m.first = Math.max(m.first, op.before);
                expect(await attempt).toMatchObject({ firstVersion: m.first });
              }
            }
          }
          for (const [i, id] of ids.entries()) {
            const m = model[i] as (typeof model)[number];
            if (m.deleted) {
              await expect(store.readStream(id)).rejects.toBeInstanceOf(StreamDeletedError);
              continue;
            }
            const versions = (await store.readStream(id)).map((e) => e.version);
            expect(versions).toEqual(m.version === 0 ? [] : Array.from({ length: m.version - m.first + 1 }, (_, k) => m.first + k));
            if (m.first > 1) await expect(store.aggregateStream(id, counter)).rejects.toBeInstanceOf(StreamTruncatedError);
            else expect((await store.aggregateStream(id, counter)).version).toBe(m.version);
          }
        }),
        { numRuns: 25 },
      );
    });
  });
}
