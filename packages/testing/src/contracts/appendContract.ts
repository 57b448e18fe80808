import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { EventStoreHarness } from './eventStoreHarness.js';
import { createManualClock } from './manualClock.js';
import { readAllEvents, waitForHead } from './storeSnapshot.js';
import { useStores } from './useStores.js';

/** Stream ids that break naive SQL, LIKE patterns, shells or string escaping if anyone interprets them. */
export const awkwardStreamIds = [
  "o'reilly-1",
  'quote"double-1',
  'semi;colon-1; DROP TABLE events; --',
  "x-1' OR '1'='1",
  '100%-percent',
  'under_score-1',
  'back\\slash-1',
  'back\\\\double-\\%\\_',
  'emoji-🦄🎉-1',
  'ünïcödé-名前-1',
  '$1-placeholder-?-:name-@p',
  '[brackets]-*star*-(paren)',
  '  spaced  -1  ',
  'a'.repeat(256),
];

export function appendContract(harness: EventStoreHarness): void {
  describe('appends and versions', () => {
    const open = useStores(harness);

    it('numbers versions from 1, contiguously, across appends', async () => {
      const store = await open();
      await store.appendToStream('order-1', [{ type: 'order.created', data: { n: 1 } }]);
      await store.appendToStream('order-1', [
        { type: 'order.item_added', data: { n: 2 } },
        { type: 'order.item_added', data: { n: 3 } },
      ]);
      await store.appendToStream('order-1', [{ type: 'order.placed', data: { n: 4 } }]);
      const events = await store.readStream('order-1');
      expect(events.map((e) => e.version)).toEqual([1, 2, 3, 4]);
      expect(events.map((e) => (e.data as { n: number }).n)).toEqual([1, 2, 3, 4]);
      expect(events.every((e) => e.streamId === 'order-1')).toBe(true);
    });

    it('returns an AppendResult that describes exactly what was stored', async () => {
      const clock = createManualClock(new Date('2024-03-01T10:00:00.000Z'));
      const store = await open({ clock });
      await store.appendToStream('cart-1', [{ type: 'cart.opened', data: {} }]);
      clock.advance(1000);
      const id = randomUUID();
      const result = await store.appendToStream('cart-1', [
        { type: 'cart.item_added', data: { sku: 'A' }, id, metadata: { correlationId: 'c-1' }, schemaVersion: 3 },
        { type: 'cart.item_added', data: { sku: 'B' } },
      ]);
      expect(result.streamId).toBe('cart-1');
      expect(result.written).toBe(true);
      expect(result.nextExpectedVersion).toBe(3);
      expect(result.events).toHaveLength(2);
      const [first, second] = result.events;
      expect(first?.id).toBe(id);
      expect(second?.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(first?.id).not.toBe(second?.id);
      expect(result.events.map((e) => e.version)).toEqual([2, 3]);
      expect(first?.schemaVersion).toBe(3);
      expect(second?.schemaVersion).toBe(1);
      expect(first?.metadata).toMatchObject({ correlationId: 'c-1' });
      expect(first?.recordedAt).toBeInstanceOf(Date);
      expect(first?.recordedAt.toISOString()).toBe('2024-03-01T10:00:01.000Z');
      expect(result.position).toBe(second?.position);
      expect((first?.position ?? 0) < (second?.position ?? 0)).toBe(true);
      // The result is what a reader gets afterwards, field for field.
      const stored = await store.readStream('cart-1', { from: 2 });
      expect(stored).toEqual(result.events);
      await waitForHead(store, result.position);
      expect(await store.headPosition()).toBe(result.position);
    });

    it('round-trips metadata and schemaVersion', async () => {
      const store = await open();
      const metadata = {
        correlationId: 'corr-1',
        causationId: 'cause-1',
        userId: 'user-1',
        service: 'shop',
        serviceVersion: '1.2.3',
        traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
        tenantId: 'tenant-9',
        custom: { nested: [1, 'two', null, { deep: true }] },
      };
      const written = await store.appendToStream('order-7', [{ type: 'order.created', data: { total: 10 }, metadata, schemaVersion: 2 }]);
      await waitForHead(store, written.position);
      const [event] = await store.readStream('order-7');
      expect(event?.metadata).toEqual(metadata);
      expect(event?.schemaVersion).toBe(2);
      expect(event?.type).toBe('order.created');
      const [fromAll] = await readAllEvents(store);
      expect(fromAll).toEqual(event);
    });

    it('stores an event without metadata with an empty metadata object', async () => {
      const store = await open();
      await store.appendToStream('order-8', [{ type: 'order.created', data: { total: 1 } }]);
      const [event] = await store.readStream('order-8');
      expect(event?.metadata).toEqual({});
      expect(event?.schemaVersion).toBe(1);
    });

    it('round-trips unicode and awkward JSON data verbatim', async () => {
      const store = await open();
      const data = {
        text: 'héllo wörld — 你好，世界 — مرحبا — 🦄🎉👩‍👩‍👧 — e\u0301',
        quotes: `it's "quoted" \\ back\\slash \n newline \t tab`,
        sql: "'; DROP TABLE events; -- %_ $1 ?",
        '键 🔑': 'unicode key',
        numbers: [0, -1, 1.5, 1e21, Number.MAX_SAFE_INTEGER, -0.000001],
        flags: [true, false, null],
        empty: { object: {}, array: [], string: '' },
        nested: { a: { b: { c: { d: [[[1]]] } } } },
      };
      await store.appendToStream('doc-1', [{ type: 'doc.written', data }]);
      await store.appendToStream('doc-1', [{ type: 'doc.scalar', data: 'just a string' }]);
      await store.appendToStream('doc-1', [{ type: 'doc.array', data: [1, 'two'] }]);
      await store.appendToStream('doc-1', [{ type: 'doc.null', data: null }]);
      const events = await store.readStream('doc-1');
      expect(events.map((e) => e.data)).toEqual([data, 'just a string', [1, 'two'], null]);
    });

    it('stores dates in data as their ISO strings and drops undefined properties, as JSON does', async () => {
      const store = await open();
      await store.appendToStream('doc-2', [{ type: 'doc.dated', data: { at: new Date('2024-05-06T07:08:09.010Z'), gone: undefined } }]);
      const [event] = await store.readStream('doc-2');
      expect(event?.data).toEqual({ at: '2024-05-06T07:08:09.010Z' });
      expect(Object.keys(event?.data as object)).toEqual(['at']);
    });

    it('stores stream ids with quotes, SQL and LIKE metacharacters, backslashes and emoji verbatim', async () => {
      const store = await open();
      let last = 0n;
      for (const [i, streamId] of awkwardStreamIds.entries()) {
        last = (await store.appendToStream(streamId, [{ type: 'thing.happened', data: { i } }])).position;
      }
      for (const [i, streamId] of awkwardStreamIds.entries()) {
        const events = await store.readStream(streamId);
        expect(events.map((e) => [e.streamId, e.data])).toEqual([[streamId, { i }]]);
        expect(await store.streamExists(streamId)).toBe(true);
      }
      // Ids that a LIKE pattern or an unescaped quote would confuse with the ones above.
      for (const lookalike of ['100abc-percent', 'underXscore-1', 'under_score-%', "o'reilly-%", 'back\\\\slash-1', 'a'.repeat(255)]) {
        expect(await store.readStream(lookalike)).toEqual([]);
        expect(await store.streamExists(lookalike)).toBe(false);
      }
      await waitForHead(store, last);
      const all = await readAllEvents(store);
      expect(all.map((e) => e.streamId)).toEqual(awkwardStreamIds);
    });

    it('keeps streams apart: an append to one stream does not change the versions of another', async () => {
      const store = await open();
      await store.appendToStream('a-1', [{ type: 't', data: 1 }]);
      await store.appendToStream('a-2', [{ type: 't', data: 2 }]);
      await store.appendToStream('a-1', [{ type: 't', data: 3 }]);
      expect((await store.readStream('a-1')).map((e) => [e.version, e.data])).toEqual([
        [1, 1],
        [2, 3],
      ]);
      expect((await store.readStream('a-2')).map((e) => [e.version, e.data])).toEqual([[1, 2]]);
    });
  });
}
