import {
  type EventStage,
  type EventStore,
  type ReadPageOptions,
  type RecordedEvent,
  streamCategory,
  subscribe,
  ValidationError,
} from '@tidemark/core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EventStoreHarness } from './eventStoreHarness.js';
import { caught, readAllEvents, waitForHead } from './storeSnapshot.js';
import { useStores } from './useStores.js';

const fixture: Array<[streamId: string, type: string]> = [
  ['order-1', 'order.created'],
  ['payment-1', 'payment.requested'],
  ['order-2', 'order.created'],
  ['order-1', 'order.placed'],
  ['payment-1', 'payment.captured'],
  ['order-2', 'order.placed'],
  ['other-1', 'other.thing'],
  ['other-1', 'other.thing'],
];

/** A read stage that drops every `hidden.thing`: a page of stored events can come out empty. */
const dropHidden: EventStage = { read: (events) => events.filter((event) => event.type !== 'hidden.thing') };

/**
 * readPage (optional on the port): one page of readAll and the head it was read against. A
 * store that has it must give exactly what headPosition and then readAll would, and say
 * whether the page reached the head, counting stored events, not what the stages made of them.
 */
export function readPageContract(harness: EventStoreHarness): void {
  describe('readPage', () => {
    const open = useStores(harness, 'all');
    let store: EventStore;
    let all: RecordedEvent[];
    let head: bigint;
    const page = (options: ReadPageOptions) => (store.readPage as NonNullable<EventStore['readPage']>)(options);

    beforeAll(async () => {
      store = await open();
      let last = 0n;
      for (const [i, [streamId, type]] of fixture.entries()) {
        last = (await store.appendToStream(streamId, [{ type, data: { i } }])).position;
      }
      await waitForHead(store, last);
      all = await readAllEvents(store);
      head = await store.headPosition();
    });

    const ids = (events: readonly RecordedEvent[]) => events.map((e) => e.id);

    it.each<[string, Omit<ReadPageOptions, 'limit'>, (e: RecordedEvent) => boolean]>([
      ['no filter', {}, () => true],
      ['one type', { types: ['order.created'] }, (e) => e.type === 'order.created'],
      ['several types', { types: ['order.placed', 'payment.captured'] }, (e) => ['order.placed', 'payment.captured'].includes(e.type)],
      ['one category', { categories: ['payment'] }, (e) => streamCategory(e.streamId) === 'payment'],
      ['types and categories', { types: ['order.placed'], categories: ['order'] }, (e) => e.type === 'order.placed'],
      ['an unknown type', { types: ['nothing.happened'] }, () => false],
      ['an empty type list', { types: [] }, () => false],
    ])('gives the events readAll gives, the head, and how far it saw, with %s', async (_, filter, keep) => {
      if (!store.readPage) return;
      const matching = all.filter(keep);
      for (const limit of [1, 2, 3, 100]) {
        for (const after of [0n, ...all.map((e) => e.position)]) {
          const expected = matching.filter((e) => e.position > after).slice(0, limit);
          const result = await page({ ...filter, after, limit });
          expect(ids(result.events)).toEqual(ids(expected));
          expect(result.head).toBe(head);
          const reached = expected.length < limit;
          expect(result.reachedHead).toBe(reached);
          expect(result.seenUpTo).toBe(reached ? head : (expected[expected.length - 1] as RecordedEvent).position);
        }
      }
    });

    it('past the head: nothing, the head reached', async () => {
      if (!store.readPage) return;
      expect(await page({ after: head + 10n, limit: 5 })).toEqual({
        events: [],
        head,
        reachedHead: true,
        seenUpTo: head,
      });
    });

    it.each<[string, ReadPageOptions]>([
      ['after -1n', { after: -1n, limit: 1 }],
      ['limit 0', { limit: 0 }],
      ['limit 2.5', { limit: 2.5 }],
      ['types not an array', { types: 'order.created' as unknown as string[], limit: 1 }],
    ])('rejects %s with ValidationError', async (_, options) => {
      if (!store.readPage) return;
      await caught(() => page(options), ValidationError);
    });
  });

  describe('readPage and subscribe with a read stage that drops events', () => {
    const open = useStores(harness);

    it('counts stored events: a page of dropped ones is full and the reader goes on after it, not to the head', async () => {
      const store = await open({ stages: [dropHidden] });
      await store.appendToStream('hidden-1', [
        { type: 'hidden.thing', data: {} },
        { type: 'hidden.thing', data: {} },
      ]);
      const kept = await store.appendToStream('kept-1', [{ type: 'kept.thing', data: {} }]);
      await waitForHead(store, kept.position);
      if (store.readPage) {
        const first = await store.readPage({ limit: 2 });
        expect(first.events).toEqual([]);
        expect(first.reachedHead).toBe(false);
        expect(first.seenUpTo).toBeLessThan(kept.position);
        const second = await store.readPage({ after: first.seenUpTo, limit: 2 });
        expect(second.events.map((e) => e.streamId)).toEqual(['kept-1']);
        expect(second.reachedHead).toBe(true);
      }
      const controller = new AbortController();
      const seen: string[] = [];
      for await (const batch of subscribe(store, { batchSize: 2, signal: controller.signal })) {
        seen.push(...batch.events.map((e) => e.streamId));
        if (batch.caughtUp) controller.abort();
      }
      expect(seen).toEqual(['kept-1']);
    });
  });
}
