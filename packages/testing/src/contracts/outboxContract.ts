import { type OutgoingMessage, PayloadTooLargeError, type StoreTransaction, ValidationError } from '@tidemark/core';
import { afterAll, describe, expect, it } from 'vitest';
import { createManualClock } from './manualClock.js';
import { type MessagingHarness, Rollback } from './messagingHarness.js';

let counter = 0;
const message = (key: string, data: unknown = { n: counter }, extra: Partial<OutgoingMessage> = {}): OutgoingMessage => ({
  id: `msg-${++counter}-${Math.random().toString(36).slice(2)}`,
  type: 'test.thing.happened',
  schemaVersion: 1,
  key,
  data,
  ...extra,
});

/**
 * What every Outbox must do: messages commit or roll back with the caller's transaction, come
 * back oldest first with their content intact, leave the pending set once marked published,
 * are deleted only after publication and the retention cut-off, bad input writes nothing, and
 * stored data can be rewritten in place (erasing a forgotten subject's personal data).
 */
export function outboxContract<Tx extends StoreTransaction>(adapter: string, harness: MessagingHarness<Tx>): void {
  describe(`Outbox contract: ${adapter}`, () => {
    afterAll(async () => {
      await harness.teardown?.();
    });
    const world = async () => {
      const clock = createManualClock(new Date('2026-01-01T00:00:00.000Z'));
      return { clock, ...(await harness.create(clock)) };
    };

    it('keeps messages added in a transaction that commits, in order, with their content', async () => {
      const { store, outbox } = await world();
      const a = message('order-1', { total: 12.5, lines: [{ sku: 'x', qty: 2 }], note: 'é ✓ \u0000 nul inside data' });
      const b = message('order-2', { ok: true }, { headers: { correlationId: 'c-1' }, occurredAt: new Date('2025-12-31T23:00:00Z') });
      const c = message('order-1', null, { schemaVersion: 3 });
      await store.transaction(async (tx) => {
        await outbox.add(tx, [a, b]);
        await outbox.add(tx, [c]);
      });
      const pending = await store.transaction((tx) => outbox.pending(tx, { limit: 10 }));
      expect(pending.map((e) => e.message.id)).toEqual([a.id, b.id, c.id]);
      expect(pending[0]?.message).toMatchObject({ type: a.type, key: 'order-1', schemaVersion: 1, data: a.data, headers: {} });
      expect(pending[1]?.message).toMatchObject({ headers: { correlationId: 'c-1' }, occurredAt: new Date('2025-12-31T23:00:00Z') });
      expect(pending[2]?.message).toMatchObject({ schemaVersion: 3, data: null, occurredAt: new Date('2026-01-01T00:00:00Z') });
      const sequences = pending.map((e) => e.sequence);
      expect([...sequences].sort((x, y) => (x < y ? -1 : 1))).toEqual(sequences);
      expect(await store.transaction((tx) => outbox.stats(tx))).toEqual({
        backlog: 3,
        oldestUnpublishedAt: new Date('2026-01-01T00:00:00Z'),
        retained: 0,
      });
    });

    it('shares the fate of the transaction: a rollback leaves nothing and wakes nobody', async () => {
      const { store, outbox } = await world();
      let woken = 0;
      const unsubscribe = outbox.onAdded(() => woken++);
      await expect(
        store.transaction(async (tx) => {
          await outbox.add(tx, [message('k')]);
          throw new Rollback();
        }),
      ).rejects.toBeInstanceOf(Rollback);
      expect(await store.transaction((tx) => outbox.pending(tx, { limit: 10 }))).toEqual([]);
      expect(woken).toBe(0);
      await store.transaction((tx) => outbox.add(tx, [message('k')]));
      expect(woken).toBe(1);
      unsubscribe();
    });

    it('commits messages atomically with the events appended in the same transaction', async () => {
      const { store, outbox } = await world();
      await expect(
        store.transaction(async (tx) => {
          await tx.appendToStream('order-9', [{ type: 'order.placed', data: {} }]);
          await outbox.add(tx, [message('order-9')]);
          throw new Rollback();
        }),
      ).rejects.toBeInstanceOf(Rollback);
      expect(await store.streamExists('order-9')).toBe(false);
      expect(await store.transaction((tx) => outbox.pending(tx, { limit: 10 }))).toEqual([]);
      await store.transaction(async (tx) => {
        await tx.appendToStream('order-9', [{ type: 'order.placed', data: {} }]);
        await outbox.add(tx, [message('order-9')]);
      });
      expect(await store.streamExists('order-9')).toBe(true);
      expect(await store.transaction((tx) => outbox.pending(tx, { limit: 10 }))).toHaveLength(1);
      expect(await store.transaction((tx) => outbox.stats(tx))).toMatchObject({ backlog: 1, retained: 0 });
    });

    it('refuses bad input with a typed error and writes nothing of the batch', async () => {
      const { store, outbox } = await world();
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      const bad: Array<[OutgoingMessage, new (...args: never[]) => Error]> = [
        [message('k', { n: 1n }), ValidationError],
        [message('k', cyclic), ValidationError],
        [message('k', { f: () => 1 }), ValidationError],
        [message('k', { text: 'lone \ud800 surrogate' }), ValidationError],
        [{ ...message('k'), data: undefined }, ValidationError],
        [{ ...message('k'), id: 'nul\u0000id' }, ValidationError],
        [{ ...message('k'), id: '' }, ValidationError],
        [{ ...message('k'), key: 'lone\udc00' }, ValidationError],
        [{ ...message('k'), type: 'x'.repeat(257) }, ValidationError],
        [{ ...message('k'), schemaVersion: 0 }, ValidationError],
        [message('k', {}, { headers: { n: 1 as unknown as string } }), ValidationError],
        [message('k', {}, { occurredAt: new Date(Number.NaN) }), ValidationError],
        [message('k', { blob: 'x'.repeat(1024 * 1024 + 1) }), PayloadTooLargeError],
      ];
      for (const [index, [bad1, kind]] of bad.entries()) {
        await expect(
          store.transaction((tx) => outbox.add(tx, [message('k'), bad1])),
          `bad message ${index}`,
        ).rejects.toBeInstanceOf(kind);
      }
      const twice = message('k');
      await expect(store.transaction((tx) => outbox.add(tx, [twice, twice]))).rejects.toBeInstanceOf(ValidationError);
      expect(await store.transaction((tx) => outbox.pending(tx, { limit: 10 }))).toEqual([]);
    });

    it('leaves out what was marked published, and what is in flight', async () => {
      const { store, outbox, clock } = await world();
      const batch = [message('a'), message('b'), message('a'), message('c')];
      await store.transaction((tx) => outbox.add(tx, batch));
      const pending = await store.transaction((tx) => outbox.pending(tx, { limit: 2 }));
      expect(pending.map((e) => e.message.id)).toEqual([batch[0]?.id, batch[1]?.id]);
      const inFlight = new Set(pending.map((e) => e.sequence));
      const next = await store.transaction((tx) => outbox.pending(tx, { limit: 10, exclude: inFlight }));
      expect(next.map((e) => e.message.id)).toEqual([batch[2]?.id, batch[3]?.id]);
      clock.advance(60_000);
      await expect(
        store.transaction(async (tx) => {
          await outbox.markPublished(tx, [...inFlight]);
          throw new Rollback();
        }),
      ).rejects.toBeInstanceOf(Rollback);
      expect(await store.transaction((tx) => outbox.pending(tx, { limit: 10 }))).toHaveLength(4);
      await store.transaction((tx) => outbox.markPublished(tx, [...inFlight]));
      const left = await store.transaction((tx) => outbox.pending(tx, { limit: 10 }));
      expect(left.map((e) => e.message.id)).toEqual([batch[2]?.id, batch[3]?.id]);
      expect(await store.transaction((tx) => outbox.stats(tx))).toMatchObject({ backlog: 2, retained: 2 });
    });

    it('deletes published messages only once they are older than the cut-off', async () => {
      const { store, outbox, clock } = await world();
      await store.transaction((tx) => outbox.add(tx, [message('a'), message('b'), message('c')]));
      const [first, second] = await store.transaction((tx) => outbox.pending(tx, { limit: 2 }));
      await store.transaction((tx) => outbox.markPublished(tx, [(first as { sequence: bigint }).sequence]));
      clock.advance(1000);
      await store.transaction((tx) => outbox.markPublished(tx, [(second as { sequence: bigint }).sequence]));
      clock.advance(1000);
      // Only the first was published before the cut-off; the unpublished third is never deleted.
      const cutOff = new Date(clock.now().getTime() - 1500);
      expect(await store.transaction((tx) => outbox.deletePublished(tx, cutOff, 100))).toBe(1);
      expect(await store.transaction((tx) => outbox.deletePublished(tx, clock.now(), 100))).toBe(1);
      expect(await store.transaction((tx) => outbox.deletePublished(tx, new Date(clock.now().getTime() + 1e9), 100))).toBe(0);
      expect(await store.transaction((tx) => outbox.pending(tx, { limit: 10 }))).toHaveLength(1);
    });

    it('rewrites the data of stored messages of the given types, pending and published alike, in the transaction', async () => {
      const { store, outbox } = await world();
      const kept = message('c-1', { email: 'ann@example.com', n: 1 }, { headers: { correlationId: 'c-9' } });
      const published = message('c-1', { email: 'ann@example.com', n: 2 });
      const otherType = message('c-1', { email: 'ann@example.com' }, { type: 'test.other.happened' });
      const untouched = message('c-2', { email: 'bob@example.com' });
      await store.transaction((tx) => outbox.add(tx, [kept, published, otherType, untouched]));
      const [, second] = await store.transaction((tx) => outbox.pending(tx, { limit: 2 }));
      await store.transaction((tx) => outbox.markPublished(tx, [(second as { sequence: bigint }).sequence]));
      const before = await store.transaction((tx) => outbox.pending(tx, { limit: 10 }));
      const redact = (stored: OutgoingMessage) =>
        stored.key === 'c-1' ? { ...(stored.data as Record<string, unknown>), email: '[redacted]' } : undefined;

      // Rolled back with its transaction.
      await expect(
        store.transaction(async (tx) => {
          expect(await outbox.rewriteData(tx, ['test.thing.happened'], redact)).toBe(2);
          throw new Rollback();
        }),
      ).rejects.toBeInstanceOf(Rollback);
      expect(await store.transaction((tx) => outbox.pending(tx, { limit: 10 }))).toEqual(before);

      // The pending one and the published (retained) one of that type; not the other type, not another key.
      expect(await store.transaction((tx) => outbox.rewriteData(tx, ['test.thing.happened'], redact))).toBe(2);
      const after = await store.transaction((tx) => outbox.pending(tx, { limit: 10 }));
      expect(after.map((e) => e.sequence)).toEqual(before.map((e) => e.sequence));
      expect(after.map((e) => e.message.data)).toEqual([
        { email: '[redacted]', n: 1 },
        { email: 'ann@example.com' },
        { email: 'bob@example.com' },
      ]);
      expect(after[0]?.message).toMatchObject({ id: kept.id, key: 'c-1', headers: { correlationId: 'c-9' } });
      // Nothing left to change the second time; data that is not plain JSON is refused, nothing written.
      expect(await store.transaction((tx) => outbox.rewriteData(tx, ['test.thing.happened'], redact))).toBe(0);
      await expect(store.transaction((tx) => outbox.rewriteData(tx, ['test.other.happened'], () => ({ n: 1n })))).rejects.toBeInstanceOf(
        ValidationError,
      );
      expect(await store.transaction((tx) => outbox.pending(tx, { limit: 10 }))).toEqual(after);
    });
  });
}
