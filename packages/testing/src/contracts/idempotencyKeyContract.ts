import { IdempotencyKeyReusedError, runIdempotent, type StoreTransaction, ValidationError } from '@tidemark/core';
import { afterAll, describe, expect, it } from 'vitest';
import { createManualClock } from './manualClock.js';
import { type MessagingHarness, Rollback } from './messagingHarness.js';

/**
 * What idempotency keys must do on every store: the same key returns the first result and
 * causes no second effect, even when the two requests race; the same key with another request
 * is refused with nothing written; a command that fails leaves the key unused; keys expire.
 */
export function idempotencyKeyContract<Tx extends StoreTransaction>(adapter: string, harness: MessagingHarness<Tx>): void {
  describe(`Idempotency key contract: ${adapter}`, () => {
    afterAll(async () => {
      await harness.teardown?.();
    });
    const world = async () => {
      const clock = createManualClock(new Date('2026-01-01T00:00:00.000Z'));
      return { clock, ...(await harness.create(clock)) };
    };

    it('returns the first result for the same key, with no second effect', async () => {
      const { store, keys } = await world();
      let runs = 0;
      const charge = (request: { account: string; amount: number }) =>
        runIdempotent(store, keys, { scope: 'payments.charge', key: 'key-1', request }, async (tx) => {
          runs++;
          const appended = await tx.appendToStream(`payment-${request.account}`, [{ type: 'payment.charged', data: request }]);
          return { chargeId: `ch-${runs}`, version: appended.nextExpectedVersion };
        });
      const first = await charge({ account: 'a1', amount: 30 });
      expect(first).toEqual({ result: { chargeId: 'ch-1', version: 1 }, replayed: false });
      // Key order of the request does not matter.
      const again = await charge({ amount: 30, account: 'a1' } as { account: string; amount: number });
      expect(again).toEqual({ result: { chargeId: 'ch-1', version: 1 }, replayed: true });
      expect(runs).toBe(1);
      expect(await store.readStream('payment-a1')).toHaveLength(1);
    });

    it('refuses the same key with a different request, writing nothing', async () => {
      const { store, keys } = await world();
      const run = (amount: number) =>
        runIdempotent(store, keys, { scope: 'payments.charge', key: 'key-2', request: { amount } }, async (tx) => {
          await tx.appendToStream('payment-x', [{ type: 'payment.charged', data: { amount } }]);
          return { amount };
        });
      await run(10);
      const refused = run(11);
      await expect(refused).rejects.toBeInstanceOf(IdempotencyKeyReusedError);
      await expect(refused).rejects.toMatchObject({ code: 'idempotency_key_reused' });
      expect(await store.readStream('payment-x')).toHaveLength(1);
      // Another scope is another key.
      const other = await runIdempotent(store, keys, { scope: 'refunds', key: 'key-2', request: { amount: 11 } }, async () => 'ok');
      expect(other).toEqual({ result: 'ok', replayed: false });
    });

    it('leaves the key unused when the command fails', async () => {
      const { store, keys } = await world();
      const attempt = (fail: boolean) =>
        runIdempotent(store, keys, { scope: 's', key: 'key-3', request: { n: 1 } }, async (tx) => {
          await tx.appendToStream('thing-3', [{ type: 'thing.done', data: {} }]);
          if (fail) throw new Rollback();
          return 'done';
        });
      await expect(attempt(true)).rejects.toBeInstanceOf(Rollback);
      expect(await store.streamExists('thing-3')).toBe(false);
      expect(await attempt(false)).toEqual({ result: 'done', replayed: false });
      expect(await store.readStream('thing-3')).toHaveLength(1);
    });

    it('runs the command once when requests with the same key race', async () => {
      const { store, keys } = await world();
      let runs = 0;
      const outcomes = await Promise.all(
        Array.from({ length: 8 }, () =>
          runIdempotent(store, keys, { scope: 's', key: 'race', request: { n: 1 } }, async (tx) => {
            runs++;
            await tx.appendToStream('race-1', [{ type: 'thing.done', data: {} }]);
            return runs;
          }),
        ),
      );
      expect(outcomes.filter((o) => !o.replayed)).toHaveLength(1);
      expect(new Set(outcomes.map((o) => o.result)).size).toBe(1);
      expect(await store.readStream('race-1')).toHaveLength(1);
    });

    it('refuses bad keys and results that are not JSON, writing nothing', async () => {
      const { store, keys } = await world();
      for (const key of ['', 'nul\u0000', 'x'.repeat(257), 'lone\udfff']) {
        await expect(runIdempotent(store, keys, { scope: 's', key, request: {} }, async () => 1)).rejects.toBeInstanceOf(ValidationError);
      }
      await expect(
        runIdempotent(store, keys, { scope: 's', key: 'k', request: {} }, async (tx) => {
          await tx.appendToStream('bad-1', [{ type: 'thing.done', data: {} }]);
          return { n: 1n };
        }),
      ).rejects.toBeInstanceOf(ValidationError);
      expect(await store.streamExists('bad-1')).toBe(false);
    });

    it('forgets keys older than the window', async () => {
      const { store, keys, clock } = await world();
      await runIdempotent(store, keys, { scope: 's', key: 'old', request: {} }, async () => 1);
      clock.advance(60_000);
      await runIdempotent(store, keys, { scope: 's', key: 'new', request: {} }, async () => 2);
      const cutOff = new Date(clock.now().getTime() - 30_000);
      expect(await store.transaction((tx) => keys.expire(tx, cutOff, 100))).toBe(1);
      expect(await runIdempotent(store, keys, { scope: 's', key: 'old', request: { other: true } }, async () => 3)).toEqual({
        result: 3,
        replayed: false,
      });
      expect((await runIdempotent(store, keys, { scope: 's', key: 'new', request: {} }, async () => 4)).replayed).toBe(true);
    });
  });
}
