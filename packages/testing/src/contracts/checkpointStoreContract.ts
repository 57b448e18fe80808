import {
  CheckpointConflictError,
  type CheckpointStore,
  type Clock,
  type EventStore,
  type ProjectionFailure,
  type RecordedEvent,
  type StoreTransaction,
} from '@tidemark/core';
import { afterAll, describe, expect, it } from 'vitest';
import { createManualClock } from './manualClock.js';

/** The bridge from an adapter to the checkpoint contract: a fresh store and its checkpoint store. */
export interface CheckpointStoreHarness<Tx extends StoreTransaction = StoreTransaction> {
  /** A fresh store (on `clock` when given) and its checkpoint store. */
  create(options?: { clock?: Clock }): Promise<{ store: EventStore<Tx>; checkpoints: CheckpointStore<Tx> }>;
  teardown?(): Promise<void>;
}

const failure = (position: bigint): ProjectionFailure => ({
  position,
  eventId: '0190c2a4-0000-7000-8000-000000000001',
  eventType: 'test.thing.happened',
  streamId: 'thing-1',
  message: 'handler exploded',
  attempts: 3,
  failedAt: new Date('2026-01-02T03:04:05.000Z'),
});

class Rollback extends Error {}

/**
 * What every CheckpointStore must do: compare-and-set saves that never move backwards,
 * writes that share the fate of the caller's transaction, failures visible beside the
 * position, and dead letters that keep the whole event.
 */
export function checkpointStoreContract<Tx extends StoreTransaction>(adapter: string, harness: CheckpointStoreHarness<Tx>): void {
  describe(`CheckpointStore contract: ${adapter}`, () => {
    afterAll(async () => {
      await harness.teardown?.();
    });
    const withStore = async (test: (store: EventStore<Tx>, checkpoints: CheckpointStore<Tx>) => Promise<void>, clock?: Clock) => {
      const { store, checkpoints } = await harness.create(clock && { clock });
      try {
        await store.transaction((tx) => checkpoints.setup(tx));
        await store.transaction((tx) => checkpoints.setup(tx)); // idempotent
        await test(store, checkpoints);
      } finally {
        await store.close();
      }
    };

    it('saves by compare-and-set and never moves backwards', () =>
      withStore(async (store, checkpoints) => {
        const load = () => store.transaction((tx) => checkpoints.load('p', tx));
        expect(await load()).toBeUndefined();
        await store.transaction((tx) => checkpoints.save('p', 0n, 5n, tx));
        expect(await load()).toMatchObject({ name: 'p', position: 5n });
        await expect(store.transaction((tx) => checkpoints.save('p', 0n, 9n, tx))).rejects.toBeInstanceOf(CheckpointConflictError);
        await expect(store.transaction((tx) => checkpoints.save('p', 5n, 4n, tx))).rejects.toBeInstanceOf(CheckpointConflictError);
        await expect(store.transaction((tx) => checkpoints.save('q', 3n, 9n, tx))).rejects.toBeInstanceOf(CheckpointConflictError);
        await store.transaction((tx) => checkpoints.save('p', 5n, 12n, tx));
        expect((await load())?.position).toBe(12n);
        expect(await store.transaction((tx) => checkpoints.load('q', tx))).toBeUndefined();
      }));

    it('lists every checkpoint by name, with its failure', () =>
      withStore(async (store, checkpoints) => {
        expect(await store.transaction((tx) => checkpoints.list(tx))).toEqual([]);
        await store.transaction(async (tx) => {
          await checkpoints.save('zeta', 0n, 7n, tx);
          await checkpoints.save('alpha', 0n, 3n, tx);
          await checkpoints.recordFailure('alpha', failure(4n), tx);
          // Inside the transaction its own writes are listed too.
          expect((await checkpoints.list(tx)).map((record) => record.name)).toEqual(['alpha', 'zeta']);
        });
        const listed = await store.transaction((tx) => checkpoints.list(tx));
        expect(listed.map((record) => [record.name, record.position])).toEqual([
          ['alpha', 3n],
          ['zeta', 7n],
        ]);
        expect(listed[0]?.failure).toEqual(failure(4n));
        expect(listed[1]?.failure).toBeUndefined();
      }));

    it("stamps its rows with the store's clock", () => {
      const clock = createManualClock(new Date('2031-05-06T07:08:09.000Z'));
      return withStore(async (store, checkpoints) => {
        await store.transaction((tx) => checkpoints.save('p', 0n, 5n, tx));
        expect((await store.transaction((tx) => checkpoints.load('p', tx)))?.updatedAt).toEqual(clock.now());
        clock.advance(60_000);
        await store.transaction((tx) => checkpoints.save('p', 5n, 6n, tx));
        expect((await store.transaction((tx) => checkpoints.load('p', tx)))?.updatedAt).toEqual(clock.now());
      }, clock);
    });

    it('shares the fate of the transaction it is written in', () =>
      withStore(async (store, checkpoints) => {
        await expect(
          store.transaction(async (tx) => {
            await checkpoints.save('p', 0n, 7n, tx);
            expect((await checkpoints.load('p', tx))?.position).toBe(7n);
            throw new Rollback();
          }),
        ).rejects.toBeInstanceOf(Rollback);
        expect(await store.transaction((tx) => checkpoints.load('p', tx))).toBeUndefined();
      }));

    it('records a failure beside the position and clears it on the next save', () =>
      withStore(async (store, checkpoints) => {
        await store.transaction((tx) => checkpoints.save('p', 0n, 3n, tx));
        await store.transaction((tx) => checkpoints.recordFailure('p', failure(4n), tx));
        expect(await store.transaction((tx) => checkpoints.load('p', tx))).toMatchObject({ position: 3n, failure: failure(4n) });
        await store.transaction((tx) => checkpoints.save('p', 3n, 4n, tx));
        const record = await store.transaction((tx) => checkpoints.load('p', tx));
        expect(record?.position).toBe(4n);
        expect(record?.failure).toBeUndefined();
        // A failure on a projector that never saved still shows, at position 0.
        await store.transaction((tx) => checkpoints.recordFailure('fresh', failure(1n), tx));
        expect(await store.transaction((tx) => checkpoints.load('fresh', tx))).toMatchObject({ position: 0n, failure: failure(1n) });
      }));

    it('resets for a rebuild swap, but never backwards', () =>
      withStore(async (store, checkpoints) => {
        await store.transaction((tx) => checkpoints.save('p', 0n, 30n, tx));
        expect(await store.transaction((tx) => checkpoints.reset('p', 10n, tx))).toBe(false);
        expect((await store.transaction((tx) => checkpoints.load('p', tx)))?.position).toBe(30n);
        expect(await store.transaction((tx) => checkpoints.reset('p', 30n, tx))).toBe(true);
        expect(await store.transaction((tx) => checkpoints.reset('p', 45n, tx))).toBe(true);
        expect((await store.transaction((tx) => checkpoints.load('p', tx)))?.position).toBe(45n);
        expect(await store.transaction((tx) => checkpoints.reset('new', 8n, tx))).toBe(true);
        expect((await store.transaction((tx) => checkpoints.load('new', tx)))?.position).toBe(8n);
      }));

    it('parks dead letters with the whole event, transactionally', () =>
      withStore(async (store, checkpoints) => {
        const { events } = await store.appendToStream('thing-1', [{ type: 'test.thing.happened', data: { n: 1, nested: { ok: true } } }]);
        const event = events[0] as RecordedEvent;
        const letter = { projection: 'p', ...failure(event.position), eventId: event.id, parkedAt: new Date(), event };
        await store.transaction(async (tx) => {
          await checkpoints.park(letter, tx);
          await checkpoints.save('p', 0n, event.position, tx);
        });
        await expect(
          store.transaction(async (tx) => {
            await checkpoints.park({ ...letter, projection: 'other' }, tx);
            throw new Rollback();
          }),
        ).rejects.toBeInstanceOf(Rollback);
        const letters = await store.transaction((tx) => checkpoints.deadLetters('p', tx));
        expect(letters).toHaveLength(1);
        expect(letters[0]).toMatchObject({
          projection: 'p',
          position: event.position,
          eventId: event.id,
          attempts: 3,
          message: 'handler exploded',
        });
        expect(letters[0]?.event).toEqual(event);
        expect(await store.transaction((tx) => checkpoints.deadLetters('other', tx))).toEqual([]);
      }));

    it('lists failed and parked events, and removes a dead letter transactionally', () =>
      withStore(async (store, checkpoints) => {
        const { events } = await store.appendToStream('thing-1', [
          { type: 'test.thing.happened', data: { n: 1 } },
          { type: 'test.thing.happened', data: { n: 2 } },
        ]);
        const [first, second] = events as RecordedEvent[];
        if (!first || !second) throw new Error('two events appended');
        const parkedAt = new Date('2026-01-03T00:00:00.000Z');
        await store.transaction(async (tx) => {
          await checkpoints.park({ projection: 'b', ...failure(first.position), eventId: first.id, parkedAt, event: first }, tx);
          await checkpoints.save('b', 0n, first.position, tx);
          await checkpoints.recordFailure('a', { ...failure(second.position), eventId: second.id }, tx);
        });
        const listed = await store.transaction((tx) => checkpoints.failedEvents(tx));
        expect(listed).toEqual([
          {
            projection: 'a',
            status: 'failed',
            position: second.position,
            eventId: second.id,
            eventType: 'test.thing.happened',
            streamId: 'thing-1',
            message: 'handler exploded',
            attempts: 3,
            at: failure(0n).failedAt,
          },
          {
            projection: 'b',
            status: 'parked',
            position: first.position,
            eventId: first.id,
            eventType: 'test.thing.happened',
            streamId: 'thing-1',
            message: 'handler exploded',
            attempts: 3,
            at: parkedAt,
          },
        ]);
        expect((await store.transaction((tx) => checkpoints.failedEvents(tx, 'b'))).map((event) => event.status)).toEqual(['parked']);
        expect(await store.transaction((tx) => checkpoints.failedEvents(tx, 'none'))).toEqual([]);

        await expect(
          store.transaction(async (tx) => {
            expect(await checkpoints.removeDeadLetter('b', first.position, tx)).toBe(true);
            expect(await checkpoints.deadLetters('b', tx)).toEqual([]);
            throw new Rollback();
          }),
        ).rejects.toBeInstanceOf(Rollback);
        expect(await store.transaction((tx) => checkpoints.deadLetters('b', tx))).toHaveLength(1);
        expect(await store.transaction((tx) => checkpoints.removeDeadLetter('b', first.position, tx))).toBe(true);
        expect(await store.transaction((tx) => checkpoints.removeDeadLetter('b', first.position, tx))).toBe(false);
        expect(await store.transaction((tx) => checkpoints.failedEvents(tx, 'b'))).toEqual([]);
      }));

    it('stores error text with NUL and lone surrogates as well-formed text', () =>
      withStore(async (store, checkpoints) => {
        const { events } = await store.appendToStream('thing-1', [{ type: 'test.thing.happened', data: { text: 'ab' } }]);
        // Appends refuse U+0000, but an event stored before they did can still be parked.
        const event = { ...(events[0] as RecordedEvent), data: { text: 'a\u0000b' } };
        const message = 'bad\u0000 \ud800 end';
        await store.transaction(async (tx) => {
          await checkpoints.recordFailure('p', { ...failure(event.position), message }, tx);
          await checkpoints.park({ projection: 'q', ...failure(event.position), message, parkedAt: new Date(), event }, tx);
        });
        const stored = await store.transaction((tx) => checkpoints.failedEvents(tx));
        expect(stored.map((failed) => failed.message)).toEqual(['bad\\u0000 \ufffd end', 'bad\\u0000 \ufffd end']);
        // The parked event itself comes back exactly, NUL and all.
        expect((await store.transaction((tx) => checkpoints.deadLetters('q', tx)))[0]?.event).toEqual(event);
      }));
  });
}
