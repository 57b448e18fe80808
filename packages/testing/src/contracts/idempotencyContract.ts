import { randomUUID } from 'node:crypto';
import { DuplicateEventIdError, IdempotencyConflictError, type NewEvent, ValidationError } from '@tidemark/core';
import { describe, expect, it } from 'vitest';
import type { EventStoreHarness } from './eventStoreHarness.js';
import { caught, expectUnchanged, readAllEvents, storeSnapshot, waitForHead } from './storeSnapshot.js';
import { useStores } from './useStores.js';

function batch(...ids: string[]): NewEvent[] {
  return ids.map((id, i) => ({ id, type: 'payment.captured', data: { i } }));
}

export function idempotencyContract(harness: EventStoreHarness): void {
  describe('idempotent appends (caller-supplied ids)', () => {
    const open = useStores(harness);

    it('treats the same batch appended twice as one append with its original outcome', async () => {
      const store = await open();
      const [a, b] = [randomUUID(), randomUUID()];
      const first = await store.appendToStream('payment-1', batch(a, b), { expectedVersion: 'no_stream' });
      const again = await store.appendToStream('payment-1', batch(a, b), { expectedVersion: 'no_stream' });
      expect(again.written).toBe(false);
      expect(again.events).toEqual([]);
      expect(again.streamId).toBe('payment-1');
      expect(again.nextExpectedVersion).toBe(first.nextExpectedVersion);
      expect(again.position).toBe(first.position);
      expect((await store.readStream('payment-1')).map((e) => e.id)).toEqual([a, b]);
      await waitForHead(store, first.position);
      expect(await readAllEvents(store)).toHaveLength(2);
    });

    it('returns the original outcome even after the stream moved on and with a stale expected version', async () => {
      const store = await open();
      const [a, b] = [randomUUID(), randomUUID()];
      await store.appendToStream('payment-2', [{ type: 'payment.requested', data: {} }]);
      const first = await store.appendToStream('payment-2', batch(a, b), { expectedVersion: 1 });
      await store.appendToStream('payment-2', [{ type: 'payment.settled', data: {} }], { expectedVersion: 3 });
      const other = await store.appendToStream('other-1', [{ type: 'other.happened', data: {} }]);
      const before = await storeSnapshot(store, other.position);
      for (const expectedVersion of [1, 'no_stream', 'any', 'stream_exists'] as const) {
        const retry = await store.appendToStream('payment-2', batch(a, b), { expectedVersion });
        expect(retry).toMatchObject({ written: false, nextExpectedVersion: 3, position: first.position, events: [] });
      }
      await expectUnchanged(store, before);
      expect((await store.readStream('payment-2')).map((e) => e.version)).toEqual([1, 2, 3, 4]);
    });

    it('treats an uppercase spelling of the same ids as the same events', async () => {
      const store = await open();
      const a = randomUUID();
      const first = await store.appendToStream('payment-3', batch(a));
      const again = await store.appendToStream('payment-3', batch(a.toUpperCase()));
      expect(again).toMatchObject({ written: false, position: first.position, nextExpectedVersion: 1 });
      await waitForHead(store, first.position);
      expect(await readAllEvents(store)).toHaveLength(1);
    });

    it.each([
      ['overlaps it partially', (_a: string, b: string, c: string) => batch(b, c)],
      ['repeats its ids in another order', (a: string, b: string) => batch(b, a)],
      ['adds a new event to a full repeat', (a: string, b: string, c: string) => batch(a, b, c)],
      ['puts a new event before a repeat', (a: string, b: string, c: string) => batch(c, a, b)],
    ])('rejects a batch that %s with DuplicateEventIdError and writes nothing', async (_, make) => {
      const store = await open();
      const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
      const seed = await store.appendToStream('payment-4', batch(a, b));
      const before = await storeSnapshot(store, seed.position);
      const error = await caught(() => store.appendToStream('payment-4', make(a, b, c), { expectedVersion: 'any' }), DuplicateEventIdError);
      expect(error.code).toBe('duplicate_event_id');
      await expectUnchanged(store, before);
      expect(before.ids).not.toContain(c);
    });

    it('rejects reusing an event id in another stream with DuplicateEventIdError and writes nothing', async () => {
      const store = await open();
      const [a, b] = [randomUUID(), randomUUID()];
      const seed = await store.appendToStream('payment-5', batch(a, b));
      const before = await storeSnapshot(store, seed.position);
      await caught(() => store.appendToStream('payment-6', batch(a, b)), DuplicateEventIdError);
      await caught(() => store.appendToStream('payment-6', batch(b)), DuplicateEventIdError);
      await expectUnchanged(store, before);
      expect(await store.streamExists('payment-6')).toBe(false);
    });

    it.each<[string, 'type' | 'schemaVersion' | 'data' | 'metadata', (event: NewEvent) => NewEvent]>([
      ['type', 'type', (e) => ({ ...e, type: 'payment.refunded' })],
      ['schema version', 'schemaVersion', (e) => ({ ...e, schemaVersion: 2 })],
      ['data', 'data', (e) => ({ ...e, data: { i: 1, amount: 100 } })],
      ['data key order', 'data', (e) => ({ ...e, data: { amount: 5, i: 1 } })],
      ['metadata', 'metadata', (e) => ({ ...e, metadata: { correlationId: 'another' } })],
      ['missing metadata', 'metadata', ({ metadata: _dropped, ...e }) => e],
    ])(
      'refuses a "retry" whose %s differs with IdempotencyConflictError naming the event and field, and writes nothing',
      async (_, field, change) => {
        const store = await open();
        const [a, b] = [randomUUID(), randomUUID()];
        const original: NewEvent[] = [
          { id: a, type: 'payment.captured', data: { i: 0 }, metadata: { correlationId: 'c-1' } },
          { id: b, type: 'payment.captured', data: { i: 1, amount: 5 }, metadata: { correlationId: 'c-1' } },
        ];
        const first = await store.appendToStream('payment-9', original);
        const before = await storeSnapshot(store, first.position);
        // Only the second event differs: the first matching must not make it a retry.
        const error = await caught(
          () => store.appendToStream('payment-9', [original[0] as NewEvent, change(original[1] as NewEvent)]),
          IdempotencyConflictError,
        );
        expect(error.code).toBe('idempotency_conflict');
        expect(error.details).toMatchObject({ streamId: 'payment-9', eventId: b, field });
        // Inside a transaction too, and the transaction stays usable afterwards.
        const later = await store.transaction(async (tx) => {
          await caught(() => tx.appendToStream('payment-9', [change(original[1] as NewEvent)]), IdempotencyConflictError);
          return tx.appendToStream('payment-10', [{ type: 'payment.noted', data: {} }]);
        });
        await waitForHead(store, later.position);
        expect((await readAllEvents(store)).map((e) => e.id)).toEqual([...before.ids, later.events[0]?.id]);
        const stored = await store.readStream('payment-9');
        expect(stored.map((e) => [e.id, e.type, e.schemaVersion, e.data])).toEqual([
          [a, 'payment.captured', 1, { i: 0 }],
          [b, 'payment.captured', 1, { i: 1, amount: 5 }],
        ]);
      },
    );

    it('treats metadata with the same values in another key order as the same metadata', async () => {
      const store = await open();
      const a = randomUUID();
      const metadata = { correlationId: 'c-1', userId: 'u-1' };
      const first = await store.appendToStream('payment-11', [{ id: a, type: 'payment.captured', data: {}, metadata }]);
      const again = await store.appendToStream('payment-11', [
        { id: a, type: 'payment.captured', data: {}, metadata: { userId: 'u-1', correlationId: 'c-1' } },
      ]);
      expect(again).toMatchObject({ written: false, position: first.position, nextExpectedVersion: 1 });
    });

    it('answers a retry of the first part [a] of an original [a, b] with the version and position of a', async () => {
      const store = await open();
      const [a, b] = [randomUUID(), randomUUID()];
      await store.appendToStream('payment-12', [{ type: 'payment.requested', data: {} }]);
      const first = await store.appendToStream('payment-12', batch(a, b));
      const [storedA, storedB] = first.events;
      // Not the stream head (3), nor the end of the original append: a's own outcome.
      const prefix = await store.appendToStream('payment-12', batch(a));
      expect(prefix).toEqual({ streamId: 'payment-12', written: false, events: [], nextExpectedVersion: 2, position: storedA?.position });
      const suffix = await store.appendToStream('payment-12', [{ id: b, type: 'payment.captured', data: { i: 1 } }]);
      expect(suffix).toMatchObject({ written: false, nextExpectedVersion: 3, position: storedB?.position });
      // A prefix whose payload differs is refused like a full retry.
      await caught(
        () => store.appendToStream('payment-12', [{ id: a, type: 'payment.captured', data: { i: 9 } }]),
        IdempotencyConflictError,
      );
      expect(await store.readStream('payment-12')).toHaveLength(3);
    });

    it('rejects the same id twice in one batch with ValidationError and writes nothing', async () => {
      const store = await open();
      const a = randomUUID();
      const error = await caught(() => store.appendToStream('payment-7', batch(a, a)), ValidationError);
      expect(error.code).toBe('validation');
      await expectUnchanged(store, { head: 0n, ids: [] });
    });

    it('rejects an id that is not a UUID with ValidationError and writes nothing', async () => {
      const store = await open();
      await caught(() => store.appendToStream('payment-8', batch('not-a-uuid')), ValidationError);
      await expectUnchanged(store, { head: 0n, ids: [] });
    });
  });
}
