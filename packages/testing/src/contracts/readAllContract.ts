import { type EventStore, type ReadAllOptions, type RecordedEvent, streamCategory, ValidationError } from '@tidemark/core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EventStoreHarness } from './eventStoreHarness.js';
import { caught, readAllEvents, waitForHead } from './storeSnapshot.js';
import { useStores } from './useStores.js';

/** Appended one after another, so readAll must return them in exactly this order. */
const fixture: Array<[streamId: string, type: string]> = [
  ['order-1', 'order.created'],
  ['payment-1', 'payment.requested'],
  ['order-2', 'order.created'],
  ['order-1', 'order.placed'],
  ['ord-1', 'ord.thing'],
  ['order-x-y', 'order.created'],
  ['a_c-1', 'weird.underscore'],
  ['abc-1', 'weird.plain'],
  ['%-1', 'weird.percent'],
  ['nodash', 'plain.thing'],
  ['payment-1', 'payment.captured'],
  ['order-2', 'order.placed'],
];

export function readAllContract(harness: EventStoreHarness): void {
  describe('readAll and global order', () => {
    const open = useStores(harness, 'all');
    let store: EventStore;
    let all: RecordedEvent[];

    beforeAll(async () => {
      store = await open();
      for (const [i, [streamId, type]] of fixture.entries()) {
        await store.appendToStream(streamId, [{ type, data: { i } }]);
      }
      // A transaction spanning two streams, and a multi-event append, at the end of the log.
      await store.transaction(async (tx) => {
        await tx.appendToStream('order-3', [{ type: 'order.created', data: { i: fixture.length } }]);
        await tx.appendToStream('payment-3', [{ type: 'payment.requested', data: { i: fixture.length + 1 } }]);
      });
      const last = await store.appendToStream('order-3', [
        { type: 'order.item_added', data: { i: fixture.length + 2 } },
        { type: 'order.item_added', data: { i: fixture.length + 3 } },
      ]);
      await waitForHead(store, last.position);
      all = await readAllEvents(store);
    });

    const ids = (events: RecordedEvent[]) => events.map((e) => e.id);

    it('yields every event exactly once, in append order, with strictly increasing positions', async () => {
      expect(all.map((e) => (e.data as { i: number }).i)).toEqual(Array.from({ length: fixture.length + 4 }, (_, i) => i));
      expect(new Set(ids(all)).size).toBe(all.length);
      for (let i = 1; i < all.length; i++) expect((all[i]?.position ?? 0n) > (all[i - 1]?.position ?? 0n)).toBe(true);
      expect(all[0]?.position).toBeGreaterThan(0n);
    });

    it('is the union of all streams, each event as readStream returns it', async () => {
      const streamIds = [...new Set(all.map((e) => e.streamId))];
      expect(streamIds.sort()).toEqual([...new Set([...fixture.map(([s]) => s), 'order-3', 'payment-3'])].sort());
      let total = 0;
      for (const streamId of streamIds) {
        const stream = await store.readStream(streamId);
        total += stream.length;
        expect(all.filter((e) => e.streamId === streamId)).toEqual(stream);
      }
      expect(total).toBe(all.length);
    });

    it('reports the last position as headPosition', async () => {
      expect(await store.headPosition()).toBe(all[all.length - 1]?.position);
    });

    it('resumes exactly after every position of the log', async () => {
      expect(ids(await readAllEvents(store, { after: 0n }))).toEqual(ids(all));
      for (const [i, event] of all.entries()) {
        expect(ids(await readAllEvents(store, { after: event.position }))).toEqual(ids(all.slice(i + 1)));
      }
      const head = await store.headPosition();
      expect(await readAllEvents(store, { after: head + 1000n })).toEqual([]);
    });

    it.each<[string, ReadAllOptions, (e: RecordedEvent) => boolean]>([
      ['one type', { types: ['order.created'] }, (e) => e.type === 'order.created'],
      ['several types', { types: ['order.placed', 'payment.captured'] }, (e) => ['order.placed', 'payment.captured'].includes(e.type)],
      ['an unknown type', { types: ['nothing.happened'] }, () => false],
      ['one category (not its prefixes or extensions)', { categories: ['order'] }, (e) => streamCategory(e.streamId) === 'order'],
      ['a category that is a prefix of another', { categories: ['ord'] }, (e) => e.streamId === 'ord-1'],
      ['a category with a LIKE wildcard _', { categories: ['a_c'] }, (e) => e.streamId === 'a_c-1'],
      ['a category with a LIKE wildcard %', { categories: ['%'] }, (e) => e.streamId === '%-1'],
      ['a stream without a dash (its whole id)', { categories: ['nodash'] }, (e) => e.streamId === 'nodash'],
      ['several categories', { categories: ['payment', 'abc'] }, (e) => ['payment', 'abc'].includes(streamCategory(e.streamId))],
      [
        'types and categories together',
        { types: ['order.created'], categories: ['order'] },
        (e) => e.type === 'order.created' && streamCategory(e.streamId) === 'order',
      ],
    ])('filters by %s', async (_, options, keep) => {
      const expected = all.filter(keep);
      expect(ids(await readAllEvents(store, options))).toEqual(ids(expected));
      // The same filter through a tiny batch size, so that whole batches match nothing.
      expect(ids(await readAllEvents(store, { ...options, batchSize: 1 }))).toEqual(ids(expected));
    });

    it('stops after limit events, also with after and filters', async () => {
      expect(ids(await readAllEvents(store, { limit: 3 }))).toEqual(ids(all.slice(0, 3)));
      expect(ids(await readAllEvents(store, { limit: 1000 }))).toEqual(ids(all));
      const third = all[2]?.position ?? 0n;
      expect(ids(await readAllEvents(store, { after: third, limit: 2 }))).toEqual(ids(all.slice(3, 5)));
      const orders = all.filter((e) => streamCategory(e.streamId) === 'order');
      expect(ids(await readAllEvents(store, { categories: ['order'], limit: 2, batchSize: 1 }))).toEqual(ids(orders.slice(0, 2)));
    });

    it.each([1, 2, 3, 5])('yields everything with batchSize %i (paging)', async (batchSize) => {
      expect(await readAllEvents(store, { batchSize })).toEqual(all);
      const after = all[4]?.position ?? 0n;
      expect(ids(await readAllEvents(store, { batchSize, after, limit: 7 }))).toEqual(ids(all.slice(5, 12)));
    });

    it('finds a lone match at the very end of the log through many empty batches', async () => {
      const last = all[all.length - 1] as RecordedEvent;
      expect(ids(await readAllEvents(store, { types: [last.type], categories: ['order'], after: all[all.length - 2]?.position }))).toEqual([
        last.id,
      ]);
      expect(ids(await readAllEvents(store, { types: ['plain.thing'], batchSize: 2 }))).toEqual(
        ids(all.filter((e) => e.type === 'plain.thing')),
      );
    });

    it.each<[string, ReadAllOptions]>([
      ['after -1n', { after: -1n }],
      ['after as a number', { after: 1 as unknown as bigint }],
      ['limit 0', { limit: 0 }],
      ['batchSize 0', { batchSize: 0 }],
      ['batchSize 2.5', { batchSize: 2.5 }],
      ['types not an array', { types: 'order.created' as unknown as string[] }],
    ])('rejects %s with ValidationError', async (_, options) => {
      await caught(() => readAllEvents(store, options), ValidationError);
    });
  });

  describe('readAll on an empty store', () => {
    const open = useStores(harness);

    it('yields nothing and reports headPosition 0', async () => {
      const store = await open();
      expect(await readAllEvents(store)).toEqual([]);
      expect(await readAllEvents(store, { after: 0n, batchSize: 1, categories: ['order'] })).toEqual([]);
      expect(await store.headPosition()).toBe(0n);
    });

    it('sees a new event after being drained once', async () => {
      const store = await open();
      expect(await readAllEvents(store)).toEqual([]);
      const result = await store.appendToStream('late-1', [{ type: 'late.arrived', data: {} }]);
      await waitForHead(store, result.position);
      const events = await readAllEvents(store, { after: 0n });
      expect(events.map((e) => e.position)).toEqual([result.position]);
      expect(await store.headPosition()).toBe(result.position);
    });
  });
}
