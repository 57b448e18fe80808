import { type Clock, type EventBrowser, type EventQuery, type EventStore, type RecordedEvent, ValidationError } from '@tidemark/core';
import { afterAll, describe, expect, it } from 'vitest';
import { createManualClock, type ManualClock } from './manualClock.js';

/** The bridge from an adapter to the browser contract: a fresh store and its event browser. */
export interface EventBrowserHarness {
  create(options: { clock: Clock }): Promise<{ store: EventStore; browser: EventBrowser }>;
  teardown?(): Promise<void>;
}

const ids = {
  command: '0190c2a4-0000-7000-8000-00000000c0de',
  placed: '0190c2a4-0000-7000-8000-000000000001',
  reserved: '0190c2a4-0000-7000-8000-000000000002',
  shipped: '0190c2a4-0000-7000-8000-000000000003',
  mailed: '0190c2a4-0000-7000-8000-000000000004',
  other: '0190c2a4-0000-7000-8000-000000000005',
};

/** Every page of a query, following `next` to the end. */
async function allPages(browser: EventBrowser, query: EventQuery): Promise<RecordedEvent[][]> {
  const pages: RecordedEvent[][] = [];
  let cursor: string | undefined;
  do {
    const page = await browser.listEvents({ ...query, ...(cursor !== undefined && { cursor }) });
    pages.push(page.events);
    cursor = page.next;
  } while (cursor !== undefined);
  return pages;
}

const idsOf = (events: readonly RecordedEvent[]) => events.map((event) => event.id);

/**
 * What every EventBrowser must answer, alike on every adapter: the log newest first in keyset
 * pages under each filter, one event with its whole envelope, its causation chain, the streams.
 */
export function eventBrowserContract(adapter: string, harness: EventBrowserHarness): void {
  describe(`EventBrowser contract: ${adapter}`, () => {
    afterAll(async () => {
      await harness.teardown?.();
    });

    const withBrowser = async (test: (store: EventStore, browser: EventBrowser, clock: ManualClock) => Promise<void>) => {
      const clock = createManualClock();
      const { store, browser } = await harness.create({ clock });
      try {
        await test(store, browser, clock);
      } finally {
        await store.close();
      }
    };

    /** Twelve events over four streams, one second apart; returns them in log order. */
    const seed = async (store: EventStore, clock: ManualClock): Promise<RecordedEvent[]> => {
      const streams = ['order-1', 'order-2', 'account-1', 'order'];
      for (let i = 0; i < 12; i++) {
        clock.advance(1000);
        const type = i % 3 === 0 ? 'order.placed' : 'order.paid';
        await store.appendToStream(streams[i % 4] as string, [{ type, data: { i } }]);
      }
      const log: RecordedEvent[] = [];
      for await (const event of store.readAll()) log.push(event);
      return log;
    };

    it('pages the global log newest first, each page seeking past the last', () =>
      withBrowser(async (store, browser, clock) => {
        expect(await browser.listEvents()).toEqual({ events: [] });
        const log = await seed(store, clock);
        const pages = await allPages(browser, { limit: 5 });
        expect(pages.map((page) => page.length)).toEqual([5, 5, 2]);
        expect(pages.flat()).toEqual([...log].reverse());
        // A page of exactly the remaining events has no next.
        expect((await browser.listEvents({ limit: 12 })).next).toBeUndefined();
      }));

    it('continues where the page before ended when new events arrive in between', () =>
      withBrowser(async (store, browser, clock) => {
        const log = await seed(store, clock);
        const first = await browser.listEvents({ limit: 4 });
        await store.appendToStream('order-9', [{ type: 'order.placed', data: {} }]);
        const second = await browser.listEvents({ limit: 4, cursor: first.next as string });
        expect(idsOf(second.events)).toEqual(idsOf([...log].reverse().slice(4, 8)));
      }));

    it('filters by type, category and both, in pages', () =>
      withBrowser(async (store, browser, clock) => {
        const log = [...(await seed(store, clock))].reverse();
        const byType = (await allPages(browser, { type: 'order.placed', limit: 2 })).flat();
        expect(idsOf(byType)).toEqual(idsOf(log.filter((e) => e.type === 'order.placed')));
        const byCategory = (await allPages(browser, { category: 'order', limit: 4 })).flat();
        // 'order' itself is of category 'order'; 'account-1' is not.
        expect(idsOf(byCategory)).toEqual(idsOf(log.filter((e) => e.streamId !== 'account-1')));
        const both = (await allPages(browser, { category: 'order', type: 'order.paid', limit: 3 })).flat();
        expect(idsOf(both)).toEqual(idsOf(log.filter((e) => e.streamId !== 'account-1' && e.type === 'order.paid')));
        expect((await browser.listEvents({ type: 'no.such.type' })).events).toEqual([]);
      }));

    it("lists one stream's events newest first, in pages, with other filters", () =>
      withBrowser(async (store, browser, clock) => {
        const log = [...(await seed(store, clock))].reverse();
        const stream = (await allPages(browser, { streamId: 'order-1', limit: 2 })).flat();
        expect(stream.map((e) => e.version)).toEqual([3, 2, 1]);
        expect(idsOf(stream)).toEqual(idsOf(log.filter((e) => e.streamId === 'order-1')));
        const placed = await browser.listEvents({ streamId: 'order-1', type: 'order.placed' });
        // order-1 holds i = 0, 4, 8 of the seed: only i = 0 is a placed.
        expect(placed.events.map((e) => e.version)).toEqual([1]);
      }));

    it('filters by a time window: from inclusive, to exclusive, newest first in pages', () =>
      withBrowser(async (store, browser, clock) => {
        const log = [...(await seed(store, clock))].reverse();
        const from = log[8]?.recordedAt as Date;
        const to = log[1]?.recordedAt as Date;
        const window = await allPages(browser, { from, to, limit: 3 });
        expect(window.map((page) => page.length)).toEqual([3, 3, 1]);
        expect(idsOf(window.flat())).toEqual(idsOf(log.slice(2, 9)));
        const typed = (await allPages(browser, { from, type: 'order.placed', limit: 1 })).flat();
        expect(idsOf(typed)).toEqual(idsOf(log.slice(0, 9).filter((e) => e.type === 'order.placed')));
      }));

    /**
     * A command (not an event) causes `placed`; `placed` causes `reserved` and `mailed`;
     * `reserved` causes `shipped`. All share one correlation id; `other` has its own.
     */
    const seedConversation = async (store: EventStore, clock: ManualClock) => {
      const meta = (causationId: string) => ({ correlationId: 'conv-1', causationId });
      const append = async (streamId: string, id: string, type: string, metadata: Record<string, string>) => {
        clock.advance(1000);
        await store.appendToStream(streamId, [{ id, type, data: { note: '<script>alert(1)</script>' }, metadata }]);
      };
      await append('order-1', ids.placed, 'order.placed', meta(ids.command));
      await append('stock-1', ids.reserved, 'stock.reserved', meta(ids.placed));
      await append('order-2', ids.other, 'order.placed', { correlationId: 'conv-2', causationId: ids.placed.replace('1', '9') });
      await append('ship-1', ids.shipped, 'shipment.sent', meta(ids.reserved));
      await append('mail-1', ids.mailed, 'mail.sent', meta(ids.placed));
    };

    it('filters by correlation id and by causation id', () =>
      withBrowser(async (store, browser, clock) => {
        await seedConversation(store, clock);
        const conversation = (await allPages(browser, { correlationId: 'conv-1', limit: 3 })).flat();
        expect(idsOf(conversation)).toEqual([ids.mailed, ids.shipped, ids.reserved, ids.placed]);
        expect(idsOf((await browser.listEvents({ causationId: ids.placed })).events)).toEqual([ids.mailed, ids.reserved]);
        expect(idsOf((await browser.listEvents({ correlationId: 'conv-1', type: 'mail.sent' })).events)).toEqual([ids.mailed]);
      }));

    it('gets one event with its whole envelope, and nothing for an unknown or malformed id', () =>
      withBrowser(async (store, browser, clock) => {
        await seedConversation(store, clock);
        const [stored] = await store.readStream('stock-1');
        expect(await browser.getEvent(ids.reserved)).toEqual(stored);
        expect(await browser.getEvent(ids.reserved.toUpperCase())).toEqual(stored);
        expect(await browser.getEvent('0190c2a4-0000-7000-8000-0000000000ff')).toBeUndefined();
        expect(await browser.getEvent('not-a-uuid')).toBeUndefined();
      }));

    it('walks the causation chain both ways and gathers the correlation group', () =>
      withBrowser(async (store, browser, clock) => {
        await seedConversation(store, clock);
        const fromReserved = await browser.getChain(ids.reserved);
        expect(fromReserved?.event.id).toBe(ids.reserved);
        expect(idsOf(fromReserved?.causes ?? [])).toEqual([ids.placed]);
        expect(fromReserved?.effects.map((e) => [e.event.id, e.depth])).toEqual([[ids.shipped, 1]]);
        expect(idsOf(fromReserved?.correlated ?? [])).toEqual([ids.placed, ids.reserved, ids.shipped, ids.mailed]);
        expect(fromReserved?.truncated).toBe(false);

        const fromShipped = await browser.getChain(ids.shipped);
        expect(idsOf(fromShipped?.causes ?? [])).toEqual([ids.reserved, ids.placed]);

        const fromPlaced = await browser.getChain(ids.placed);
        expect(fromPlaced?.causes).toEqual([]);
        expect(fromPlaced?.effects.map((e) => [e.event.id, e.depth])).toEqual([
          [ids.reserved, 1],
          [ids.mailed, 1],
          [ids.shipped, 2],
        ]);
        const cut = await browser.getChain(ids.placed, { limit: 2 });
        expect(cut?.effects).toHaveLength(2);
        expect(cut?.truncated).toBe(true);
        expect(await browser.getChain('0190c2a4-0000-7000-8000-0000000000ff')).toBeUndefined();
      }));

    it('lists streams in id order with counts, last version and time, in pages and by category', () =>
      withBrowser(async (store, browser, clock) => {
        const log = await seed(store, clock);
        // Sorts inside the [order, order.) range of ids without being of category 'order'.
        await store.appendToStream('order!odd', [{ type: 'x', data: {} }]);
        await store.appendToStream('orders-1', [{ type: 'x', data: {} }]);
        const firstPage = await browser.listStreams({ limit: 3 });
        expect(firstPage.streams.map((s) => s.streamId)).toEqual(['account-1', 'order', 'order!odd']);
        const rest = await browser.listStreams({ limit: 3, cursor: firstPage.next as string });
        expect(rest.streams.map((s) => s.streamId)).toEqual(['order-1', 'order-2', 'orders-1']);
        expect(rest.next).toBeUndefined();
        const last = log.filter((e) => e.streamId === 'order-1').pop() as RecordedEvent;
        expect(rest.streams[0]).toEqual({
          streamId: 'order-1',
          category: 'order',
          eventCount: 3,
          lastVersion: 3,
          lastRecordedAt: last.recordedAt,
        });
        const orders = await browser.listStreams({ category: 'order' });
        expect(orders.streams.map((s) => s.streamId)).toEqual(['order', 'order-1', 'order-2']);
      }));

    it('counts the events after one position up to another, at most limit of them', () =>
      withBrowser(async (store, browser, clock) => {
        expect(await browser.countEvents({ after: 0n, upTo: await store.headPosition(), limit: 10 })).toBe(0);
        const log = await seed(store, clock);
        const at = (i: number) => (log[i] as RecordedEvent).position;
        const head = await store.headPosition();
        expect(await browser.countEvents({ after: 0n, upTo: head, limit: 100 })).toBe(12);
        // after is exclusive, upTo inclusive.
        expect(await browser.countEvents({ after: at(2), upTo: at(7), limit: 100 })).toBe(5);
        expect(await browser.countEvents({ after: 0n, upTo: at(0), limit: 100 })).toBe(1);
        // The cap.
        expect(await browser.countEvents({ after: 0n, upTo: head, limit: 3 })).toBe(3);
        expect(await browser.countEvents({ after: at(2), upTo: head, limit: 9 })).toBe(9);
        expect(await browser.countEvents({ after: at(2), upTo: head, limit: 1 })).toBe(1);
        // Events appended after upTo are not counted.
        await store.appendToStream('order-9', [
          { type: 'order.placed', data: {} },
          { type: 'order.paid', data: {} },
        ]);
        expect(await browser.countEvents({ after: at(2), upTo: head, limit: 100 })).toBe(9);
        expect(await browser.countEvents({ after: head, upTo: await store.headPosition(), limit: 100 })).toBe(2);
        // Empty ranges.
        expect(await browser.countEvents({ after: at(5), upTo: at(5), limit: 100 })).toBe(0);
        expect(await browser.countEvents({ after: at(7), upTo: at(2), limit: 100 })).toBe(0);
        const last = await store.headPosition();
        expect(await browser.countEvents({ after: last, upTo: 2n ** 63n - 1n, limit: 100 })).toBe(0);
      }));

    it('refuses a malformed count range with a ValidationError', () =>
      withBrowser(async (_store, browser) => {
        for (const range of [
          { after: -1n, upTo: 10n, limit: 1 },
          { after: 0, upTo: 10n, limit: 1 },
          { after: 0n, upTo: '10', limit: 1 },
          { after: 0n, upTo: 2n ** 63n, limit: 1 },
          { after: 0n, upTo: 10n, limit: 0 },
          { after: 0n, upTo: 10n, limit: 1.5 },
          { after: 0n, upTo: 10n, limit: 10n },
          { after: 0n, upTo: 10n },
          null,
        ]) {
          await expect(browser.countEvents(range as never)).rejects.toBeInstanceOf(ValidationError);
        }
      }));

    it('refuses malformed queries with a ValidationError', () =>
      withBrowser(async (_store, browser) => {
        for (const query of [
          { limit: 0 },
          { limit: 1001 },
          { limit: 1.5 },
          { cursor: 'abc' },
          { type: '' },
          { from: new Date(Number.NaN) },
        ]) {
          await expect(browser.listEvents(query as EventQuery)).rejects.toBeInstanceOf(ValidationError);
        }
        await expect(browser.listStreams({ limit: 0 })).rejects.toBeInstanceOf(ValidationError);
        await expect(browser.listStreams({ cursor: '' })).rejects.toBeInstanceOf(ValidationError);
      }));
  });
}
