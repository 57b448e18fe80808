import type { AppendResult, EventStage, EventStore, RecordedEvent, StoreTransaction } from '@tidemark/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { EventStoreHarness } from './eventStoreHarness.js';
import { addPlannedHook, ev } from './plannedHook.js';
import { storeSnapshot } from './storeSnapshot.js';
import { useStores } from './useStores.js';

const turn = () => new Promise((resolve) => setImmediate(resolve));
/** Hooks pause two turns and write an audit event unless a plan says otherwise. */
const addHook = (store: EventStore) => addPlannedHook(store, { turns: 2, audit: true });

/**
 * Its outcome, observed from the start: the work does not await it, and a rejection nobody
 * handles for a moment would be reported as unhandled.
 */
const outcomeOf = (append: Promise<AppendResult>): Promise<AppendResult | { error: unknown }> =>
  append.catch((error: unknown) => ({ error }));

const streamData = async (store: EventStore, streamId: string) => (await store.readStream(streamId)).map((e: RecordedEvent) => e.data);

/**
 * Appends the work started and did not await (`tx.appendToStream(…)` without `await`, or
 * `void`): the transaction waits for them before it commits, as if the work had awaited them.
 * One that succeeds is committed whole — its events and its hooks' writes; one that fails fails
 * the transaction: it rolls back and rejects with that failure.
 */
export function unawaitedAppendsContract(harness: EventStoreHarness): void {
  describe('appends the work left running', () => {
    const open = useStores(harness);

    it("commits an un-awaited hooked append whole: its events and its hook's writes", async () => {
      const store = await open();
      addHook(store);
      let late: Promise<AppendResult | { error: unknown }> | undefined;
      await store.transaction(async (tx) => {
        await tx.appendToStream('order-1', [ev({ n: 1, turns: 0 })]);
        late = outcomeOf(tx.appendToStream('order-2', [ev({ n: 2, turns: 3 })]));
      });
      expect(await late).toMatchObject({ written: true, nextExpectedVersion: 1 });
      expect(await streamData(store, 'order-1')).toEqual([{ n: 1, turns: 0 }]);
      expect(await streamData(store, 'order-2')).toEqual([{ n: 2, turns: 3 }]);
      expect(await streamData(store, 'audit-order-1')).toEqual([{ of: 1 }]);
      expect(await streamData(store, 'audit-order-2')).toEqual([{ of: 2 }]);
    });

    it('rolls the transaction back when an un-awaited hooked append fails, and rejects with its failure', async () => {
      const store = await open();
      addHook(store);
      const seed = await store.appendToStream('seed-1', [ev({ n: 0, audit: false })]);
      const before = await storeSnapshot(store, seed.position);
      let late: Promise<AppendResult | { error: unknown }> | undefined;
      const afterRollback: string[] = [];
      const failure = await store
        .transaction(async (tx) => {
          tx.afterRollback(() => afterRollback.push('rolled back'));
          await tx.appendToStream('order-1', [ev({ n: 1, turns: 0 })]);
          late = outcomeOf(tx.appendToStream('order-2', [ev({ n: 2, turns: 3, fail: true })]));
          return 'work done';
        })
        .catch((error: unknown) => error);
      expect(String(failure)).toMatch(/hook failed for 2/);
      expect(String(((await late) as { error: unknown }).error)).toMatch(/hook failed for 2/);
      expect(afterRollback).toEqual(['rolled back']);
      // Nothing of the transaction: not the awaited append, not the failed one, no hook's writes.
      expect(await storeSnapshot(store, before.head)).toEqual(before);
      for (const streamId of ['order-1', 'order-2', 'audit-order-1', 'audit-order-2'])
        expect(await store.streamExists(streamId)).toBe(false);
    });

    it('lets a hooked append left running by a failed work settle before the next transaction runs', async () => {
      const store = await open();
      addHook(store);
      let late: Promise<AppendResult | { error: unknown }> | undefined;
      const failed = store.transaction(async (tx) => {
        late = outcomeOf(tx.appendToStream('order-1', [ev({ n: 1, turns: 3 })]));
        throw new Error('work failed');
      });
      // Queued behind it, with a slower hook: its savepoint is open when the first one's hook wakes up.
      const next = store.transaction((tx) => tx.appendToStream('order-2', [ev({ n: 2, turns: 6 })]));
      await expect(failed).rejects.toThrow('work failed');
      expect(await late).toHaveProperty('error');
      expect(await next).toMatchObject({ written: true, nextExpectedVersion: 1 });
      expect(await store.streamExists('order-1')).toBe(false);
      expect(await streamData(store, 'order-2')).toEqual([{ n: 2, turns: 6 }]);
      expect(await streamData(store, 'audit-order-2')).toEqual([{ of: 2 }]);
      expect(await store.streamExists('audit-order-1')).toBe(false);
    });

    it('commits an un-awaited append (no hooks) whose write stage awaits', async () => {
      // As an encryption stage does when it fetches a key: the append has written nothing yet when the work returns.
      const slowWrite: EventStage = {
        async write(events) {
          await turn();
          return events;
        },
      };
      const store = await open({ stages: [slowWrite] });
      let late: Promise<AppendResult | { error: unknown }> | undefined;
      await store.transaction(async (tx) => {
        late = outcomeOf(tx.appendToStream('order-1', [ev({ n: 1 })]));
      });
      expect(await late).toMatchObject({ written: true, nextExpectedVersion: 1 });
      expect(await streamData(store, 'order-1')).toEqual([{ n: 1 }]);
    });

    it('refuses a call made on tx once the transaction has ended, writing nothing', async () => {
      const store = await open();
      let ended: StoreTransaction | undefined;
      const result = await store.transaction(async (tx) => {
        ended = tx;
        return tx.appendToStream('order-1', [ev({ n: 1 })]);
      });
      const snapshot = await storeSnapshot(store, result.position);
      await expect((ended as StoreTransaction).appendToStream('order-1', [ev({ n: 2 })])).rejects.toThrow(/committed or rolled back/);
      await expect((ended as StoreTransaction).readStream('order-1')).rejects.toThrow(/committed or rolled back/);
      expect(await storeSnapshot(store, snapshot.head)).toEqual(snapshot);
    });

    it('commits all of the work or none of it, whatever the appends it left running do (property)', async () => {
      const store = await open();
      addHook(store);
      const plan = fc.record({ turns: fc.nat({ max: 3 }), audit: fc.boolean(), fail: fc.boolean(), awaited: fc.boolean() });
      let run = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(plan, { minLength: 1, maxLength: 4 }), async (plans) => {
          const prefix = `r${++run}`;
          const calls = plans.map((p, n) => ({ ...p, n, streamId: `${prefix}-${n}` }));
          const outcomes: Array<Promise<AppendResult | { error: unknown }>> = [];
          const outcome = await store
            .transaction(async (tx) => {
              for (const c of calls) {
                const append = outcomeOf(tx.appendToStream(c.streamId, [ev(c)]));
                outcomes.push(append);
                // An awaited failure is the work's to handle: it looks at it and goes on.
                if (c.awaited) await append;
              }
            })
            .then(
              () => 'committed',
              (error: unknown) => error,
            );
          await Promise.all(outcomes);
          // Appends take turns in call order: awaiting one lets every earlier one settle first.
          // Those after the last awaited one were still running when the work returned.
          const lastAwaited = calls.findLastIndex((c) => c.awaited);
          const failedLate = calls.filter((c) => c.fail && c.n > lastAwaited);
          // Rolled back with the failure of one of them (whichever failed first).
          if (failedLate.length > 0) expect(failedLate.map((c) => `hook failed for ${c.n}`)).toContain((outcome as Error).message);
          else expect(outcome).toBe('committed');
          for (const c of calls) {
            const kept = outcome === 'committed' && !c.fail;
            expect(await streamData(store, c.streamId)).toEqual(kept ? [ev(c).data] : []);
            expect(await streamData(store, `audit-${c.streamId}`)).toEqual(kept && c.audit ? [{ of: c.n }] : []);
          }
        }),
        { numRuns: 20 },
      );
    });
  });
}
