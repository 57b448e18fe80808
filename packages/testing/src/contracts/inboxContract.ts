import { type StoreTransaction, ValidationError } from '@tidemark/core';
import { afterAll, describe, expect, it } from 'vitest';
import { createManualClock } from './manualClock.js';
import { type MessagingHarness, Rollback } from './messagingHarness.js';

/**
 * What every Inbox must do: the first record of (consumer, message id) wins and a repeat
 * answers false, in the same transaction as the effects (a rollback forgets it), consumers are
 * independent, old records expire, and bad keys write nothing.
 */
export function inboxContract<Tx extends StoreTransaction>(adapter: string, harness: MessagingHarness<Tx>): void {
  describe(`Inbox contract: ${adapter}`, () => {
    afterAll(async () => {
      await harness.teardown?.();
    });
    const world = async () => {
      const clock = createManualClock(new Date('2026-01-01T00:00:00.000Z'));
      return { clock, ...(await harness.create(clock)) };
    };

    it('records a message once per consumer; a repeat answers false', async () => {
      const { store, inbox } = await world();
      expect(await store.transaction((tx) => inbox.record(tx, 'mailer', 'm-1'))).toBe(true);
      expect(await store.transaction((tx) => inbox.record(tx, 'mailer', 'm-1'))).toBe(false);
      expect(await store.transaction((tx) => inbox.record(tx, 'billing', 'm-1'))).toBe(true);
      expect(await store.transaction((tx) => inbox.has(tx, 'mailer', 'm-1'))).toBe(true);
      expect(await store.transaction((tx) => inbox.has(tx, 'mailer', 'm-2'))).toBe(false);
      // Within one transaction too.
      await store.transaction(async (tx) => {
        expect(await inbox.record(tx, 'mailer', 'm-3')).toBe(true);
        expect(await inbox.has(tx, 'mailer', 'm-3')).toBe(true);
        expect(await inbox.record(tx, 'mailer', 'm-3')).toBe(false);
      });
    });

    it('lets one of several concurrent deliveries of a message through', async () => {
      const { store, inbox } = await world();
      const firsts = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          store.transaction(async (tx) => {
            const first = await inbox.record(tx, 'mailer', 'm-race');
            if (first) await tx.appendToStream(`effect-race-${i}`, [{ type: 'mail.sent', data: {} }]);
            return first;
          }),
        ),
      );
      expect(firsts.filter(Boolean)).toHaveLength(1);
    });

    it('forgets a record whose transaction rolled back, with the effects beside it', async () => {
      const { store, inbox } = await world();
      await expect(
        store.transaction(async (tx) => {
          expect(await inbox.record(tx, 'mailer', 'm-1')).toBe(true);
          await tx.appendToStream('mail-1', [{ type: 'mail.sent', data: {} }]);
          throw new Rollback();
        }),
      ).rejects.toBeInstanceOf(Rollback);
      expect(await store.streamExists('mail-1')).toBe(false);
      expect(await store.transaction((tx) => inbox.record(tx, 'mailer', 'm-1'))).toBe(true);
    });

    it('expires records older than the window', async () => {
      const { store, inbox, clock } = await world();
      await store.transaction((tx) => inbox.record(tx, 'c', 'old-1'));
      await store.transaction((tx) => inbox.record(tx, 'c', 'old-2'));
      clock.advance(10_000);
      await store.transaction((tx) => inbox.record(tx, 'c', 'new-1'));
      const cutOff = new Date(clock.now().getTime() - 5000);
      expect(await store.transaction((tx) => inbox.expire(tx, cutOff, 1))).toBe(1);
      expect(await store.transaction((tx) => inbox.expire(tx, cutOff, 100))).toBe(1);
      expect(await store.transaction((tx) => inbox.expire(tx, cutOff, 100))).toBe(0);
      expect(await store.transaction((tx) => inbox.has(tx, 'c', 'new-1'))).toBe(true);
      expect(await store.transaction((tx) => inbox.record(tx, 'c', 'old-1'))).toBe(true);
    });

    it('lists its consumers with their record counts and latest record, as the transaction sees them', async () => {
      const { store, inbox, clock } = await world();
      expect(await store.transaction((tx) => inbox.consumers(tx))).toEqual([]);
      await store.transaction((tx) => inbox.record(tx, 'mailer', 'm-1'));
      clock.advance(1000);
      await store.transaction((tx) => inbox.record(tx, 'mailer', 'm-2'));
      await store.transaction(async (tx) => {
        await inbox.record(tx, 'billing', 'm-1');
        expect((await inbox.consumers(tx)).map((c) => c.consumer)).toEqual(['billing', 'mailer']);
      });
      await expect(
        store.transaction(async (tx) => {
          await inbox.record(tx, 'audit', 'm-1');
          throw new Rollback();
        }),
      ).rejects.toBeInstanceOf(Rollback);
      expect(await store.transaction((tx) => inbox.consumers(tx))).toEqual([
        { consumer: 'billing', records: 1, lastHandledAt: clock.now() },
        { consumer: 'mailer', records: 2, lastHandledAt: clock.now() },
      ]);
    });

    it('refuses bad consumer names and message ids, writing nothing', async () => {
      const { store, inbox } = await world();
      for (const [consumer, id] of [
        ['', 'm'],
        ['c', ''],
        ['c', 'nul\u0000'],
        ['c\u0001', 'm'],
        ['c', 'lone\ud800'],
        ['c', 'x'.repeat(257)],
        [42, 'm'],
      ] as Array<[string, string]>) {
        await expect(store.transaction((tx) => inbox.record(tx, consumer, id))).rejects.toBeInstanceOf(ValidationError);
      }
      expect(await store.transaction((tx) => inbox.expire(tx, new Date('2100-01-01T00:00:00Z'), 100))).toBe(0);
    });
  });
}
