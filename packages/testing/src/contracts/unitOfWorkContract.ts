import { ConcurrencyError, type Decider, handleCommand, RetriesExhaustedError } from '@tidemark/core';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../waitFor.js';
import type { EventStoreHarness } from './eventStoreHarness.js';
import { createManualClock } from './manualClock.js';
import { caught, expectUnchanged, storeSnapshot } from './storeSnapshot.js';
import { useStores } from './useStores.js';

const ev = (n: number) => ({ type: 'thing.happened', data: { n } });

/** A counter: every `add` command is one event, so exactly-once effects are countable. */
const counter: Decider<{ type: 'add' }, { type: 'counter.added'; data: { by: number } }, number> = {
  initialState: () => 0,
  evolve: (total, event) => total + event.data.by,
  decide: () => [{ type: 'counter.added', data: { by: 1 } }],
};

/** The transaction as the retry boundary, and what a committed transaction promises (issue 7 §3). */
export function unitOfWorkContract(harness: EventStoreHarness): void {
  describe('the transaction is the retry boundary', () => {
    const open = useStores(harness);

    it('runs the whole work again in a fresh transaction after a conflict, keeping nothing of the failed attempt', async () => {
      const store = await open();
      const attempts: string[] = [];
      let counted = 0;
      const result = await store.transaction(
        async (tx) => {
          const attempt = ++counted;
          tx.afterRollback(() => attempts.push(`rolled back ${attempt}`));
          attempts.push(`attempt ${attempt}`);
          await tx.appendToStream('audit-1', [ev(attempt)]);
          // The first attempt builds on a version that no longer holds: a real conflict.
          const { version } = await tx.aggregateStream('order-1', counter);
          await tx.appendToStream('order-1', [ev(attempt)], { expectedVersion: attempt === 1 ? version + 5 : version });
          return attempt;
        },
        { retry: true },
      );
      expect(result).toBe(2);
      expect(attempts).toEqual(['attempt 1', 'rolled back 1', 'attempt 2']);
      expect((await store.readStream('audit-1')).map((e) => e.data)).toEqual([{ n: 2 }]);
      expect((await store.readStream('order-1')).map((e) => e.data)).toEqual([{ n: 2 }]);
    });

    it('gives up with RetriesExhaustedError (the last conflict as its cause) when the budget runs out, writing nothing', async () => {
      const store = await open();
      const seed = await store.appendToStream('order-1', [ev(0)]);
      const before = await storeSnapshot(store, seed.position);
      let attempts = 0;
      const error = await caught(
        () =>
          store.transaction(
            async (tx) => {
              attempts++;
              await tx.appendToStream('order-2', [ev(attempts)]);
              await tx.appendToStream('order-1', [ev(attempts)], { expectedVersion: 'no_stream' });
            },
            { retry: { maxAttempts: 3 } },
          ),
        RetriesExhaustedError,
      );
      expect(attempts).toBe(3);
      expect(error.code).toBe('retries_exhausted');
      expect(error.attempts).toBe(3);
      expect(error.cause).toBeInstanceOf(ConcurrencyError);
      await expectUnchanged(store, before);
    });

    it('does not retry failures that running again cannot fix, nor anything without the retry option', async () => {
      const store = await open();
      let attempts = 0;
      const failure = new Error('a bug in the work');
      const error = await caught(
        () =>
          store.transaction(
            async () => {
              attempts++;
              throw failure;
            },
            { retry: true },
          ),
        Error,
      );
      expect(error).toBe(failure);
      expect(attempts).toBe(1);
      await store.appendToStream('order-1', [ev(1)]);
      await caught(
        () =>
          store.transaction(async (tx) => {
            attempts++;
            await tx.appendToStream('order-1', [ev(2)], { expectedVersion: 'no_stream' });
          }),
        ConcurrencyError,
      );
      expect(attempts).toBe(2);
    });

    it('lets concurrent read-then-append transactions all succeed by retrying (exactly once each)', async () => {
      const store = await open();
      const writers = 8;
      await Promise.all(
        Array.from({ length: writers }, (_, i) =>
          store.transaction(
            async (tx) => {
              const { version } = await tx.aggregateStream('counter-1', counter);
              await tx.appendToStream('counter-1', [{ type: 'counter.added', data: { by: 1, writer: i } }], { expectedVersion: version });
            },
            { retry: { maxAttempts: 1000, maxElapsedMs: 60_000 } },
          ),
        ),
      );
      const events = await store.readStream('counter-1');
      expect(events.map((e) => e.version)).toEqual(Array.from({ length: writers }, (_, i) => i + 1));
      expect(new Set(events.map((e) => (e.data as { writer: number }).writer)).size).toBe(writers);
    });

    it('handleCommand inside a retried transaction: concurrent commands each apply exactly once', async () => {
      const store = await open();
      const commands = 8;
      await Promise.all(
        Array.from({ length: commands }, () =>
          store.transaction((tx) => handleCommand(tx, counter, 'counter-1', { type: 'add' }), {
            retry: { maxAttempts: 1000, maxElapsedMs: 60_000 },
          }),
        ),
      );
      expect((await store.aggregateStream('counter-1', counter)).state).toBe(commands);
    });
  });

  describe('a committed transaction stays committed', () => {
    const open = useStores(harness);

    it('resolves, runs the later callbacks and wakes readers when afterCommit callbacks throw or reject; the errors are reported', async () => {
      const reported: unknown[] = [];
      const store = await open({ onError: (error) => reported.push(error) });
      let woken = 0;
      store.onAppended(() => woken++);
      const thrown = new Error('callback threw');
      const rejected = new Error('callback rejected');
      const calls: string[] = [];
      const result = await store.transaction(async (tx) => {
        tx.afterCommit(() => {
          throw thrown;
        });
        tx.afterCommit(async () => {
          throw rejected;
        });
        tx.afterCommit(() => calls.push('later'));
        await tx.appendToStream('order-1', [ev(1)]);
        return 'done';
      });
      expect(result).toBe('done');
      expect(calls).toEqual(['later']);
      await waitFor(() => woken > 0, 'onAppended after a commit whose callbacks failed');
      await waitFor(() => reported.length === 2, 'both callback failures reported');
      expect(reported).toEqual(expect.arrayContaining([thrown, rejected]));
      expect((await store.readStream('order-1')).map((e) => e.data)).toEqual([{ n: 1 }]);
    });

    it('reports a throwing onAppended listener and still wakes the others', async () => {
      const reported: unknown[] = [];
      const store = await open({ onError: (error) => reported.push(error) });
      const failure = new Error('listener threw');
      store.onAppended(() => {
        throw failure;
      });
      let woken = 0;
      store.onAppended(() => woken++);
      await store.appendToStream('order-1', [ev(1)]);
      await waitFor(() => woken > 0 && reported.length > 0, 'the other listener woken, the failure reported');
      expect(reported[0]).toBe(failure);
    });

    it("exposes the store's clock on the transaction", async () => {
      const clock = createManualClock(new Date('2031-05-06T07:08:09.000Z'));
      const store = await open({ clock });
      const seen = await store.transaction(async (tx) => {
        const first = tx.clock.now();
        clock.advance(1000);
        const recorded = await tx.appendToStream('order-1', [ev(1)]);
        return { first, second: tx.clock.now(), recordedAt: recorded.events[0]?.recordedAt };
      });
      expect(seen.first.toISOString()).toBe('2031-05-06T07:08:09.000Z');
      expect(seen.second.toISOString()).toBe('2031-05-06T07:08:10.000Z');
      expect(seen.recordedAt?.toISOString()).toBe('2031-05-06T07:08:10.000Z');
    });
  });
}
