import { randomUUID } from 'node:crypto';
import { DuplicateEventIdError, type NewEvent, ValidationError } from '@tidemark/core';
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
