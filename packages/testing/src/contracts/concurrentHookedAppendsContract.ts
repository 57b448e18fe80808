import type { EventStore, RecordedEvent } from '@tidemark/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { EventStoreHarness } from './eventStoreHarness.js';
import { addPlannedHook, ev, type Plan, planOf } from './plannedHook.js';
import { readAllEvents, waitForHead } from './storeSnapshot.js';
import { useStores } from './useStores.js';

/** Hooks pause one turn and write no audit event unless a plan says otherwise. */
const addHook = (store: EventStore) => addPlannedHook(store, { turns: 1, audit: false });

/** Each call's outcome: its result's events, or the error it rejected with. */
type Outcome = { events: readonly RecordedEvent[] } | { error: unknown };
const settle = (calls: ReadonlyArray<Promise<{ events: readonly RecordedEvent[] }>>): Promise<Outcome[]> =>
  Promise.all(
    calls.map((call) =>
      call.then(
        (result) => ({ events: result.events }),
        (error: unknown) => ({ error }),
      ),
    ),
  );

/**
 * Several hooked appends called at once inside one transaction (`Promise.all` over
 * `tx.appendToStream`): each runs as a unit — savepoint, write, hooks, release or roll back —
 * one after another in call order, so a failing one undoes exactly its own events.
 */
export function concurrentHookedAppendsContract(harness: EventStoreHarness): void {
  describe('concurrent hooked appends in one transaction', () => {
    const open = useStores(harness);

    it('undoes exactly the append whose hook failed; each promise says what was stored', async () => {
      const store = await open();
      addHook(store);
      const outcomes = await store.transaction(async (tx) =>
        settle([
          tx.appendToStream('a-1', [ev({ n: 1, turns: 3, fail: true })]),
          tx.appendToStream('b-1', [ev({ n: 2, turns: 1 })]),
          tx.appendToStream('c-1', [ev({ n: 3, turns: 2 })]),
        ]),
      );
      expect(outcomes.map((outcome) => 'error' in outcome)).toEqual([true, false, false]);
      expect(String((outcomes[0] as { error: unknown }).error)).toMatch(/hook failed for 1/);
      expect(await store.streamExists('a-1')).toBe(false);
      expect((await store.readStream('b-1')).map((e) => planOf(e).n)).toEqual([2]);
      expect((await store.readStream('c-1')).map((e) => planOf(e).n)).toEqual([3]);
    });

    it('runs concurrent appends to one stream in call order, versions without gaps', async () => {
      const store = await open();
      addHook(store);
      const plans: Plan[] = [
        { n: 1, turns: 3 },
        { n: 2, turns: 0, fail: true },
        { n: 3, turns: 2 },
        { n: 4, turns: 0 },
      ];
      const outcomes = await store.transaction((tx) => settle(plans.map((plan) => tx.appendToStream('order-1', [ev(plan)]))));
      expect(outcomes.map((outcome) => ('error' in outcome ? 'failed' : outcome.events[0]?.version))).toEqual([1, 'failed', 2, 3]);
      expect((await store.readStream('order-1')).map((e) => [e.version, planOf(e).n])).toEqual([
        [1, 1],
        [2, 3],
        [3, 4],
      ]);
    });

    it('lets a hook append while other appends wait their turn (no deadlock), and undoes its append with its own', async () => {
      const store = await open();
      addHook(store);
      const outcomes = await store.transaction((tx) =>
        settle([
          tx.appendToStream('a-1', [ev({ n: 1, turns: 2, audit: true })]),
          tx.appendToStream('b-1', [ev({ n: 2, turns: 1, audit: true, fail: true })]),
          tx.appendToStream('c-1', [ev({ n: 3, turns: 0, audit: true })]),
        ]),
      );
      expect(outcomes.map((outcome) => 'error' in outcome)).toEqual([false, true, false]);
      const last = (outcomes[2] as { events: RecordedEvent[] }).events[0]?.position ?? 0n;
      await waitForHead(store, last);
      // Each append's audit event right after it: the units did not interleave.
      expect((await readAllEvents(store)).map((e) => [e.streamId, planOf(e).n ?? (e.data as { of: number }).of])).toEqual([
        ['a-1', 1],
        ['audit-a-1', 1],
        ['c-1', 3],
        ['audit-c-1', 3],
      ]);
    });

    it('holds a read issued during a hooked append until it settles: it never sees events that are then undone', async () => {
      const store = await open();
      addHook(store);
      await store.transaction(async (tx) => {
        const failing = tx.appendToStream('a-1', [ev({ n: 1, turns: 3, fail: true })]);
        const seen = tx.streamExists('a-1');
        await expect(failing).rejects.toThrow(/hook failed for 1/);
        expect(await seen).toBe(false);
      });
    });

    it('keeps every outcome consistent with what was stored, over random concurrent appends (property)', async () => {
      const store = await open();
      addHook(store);
      const plan = fc.record({
        stream: fc.constantFrom('x', 'y'),
        turns: fc.nat({ max: 3 }),
        audit: fc.boolean(),
        fail: fc.boolean(),
      });
      let run = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(plan, { minLength: 1, maxLength: 6 }), async (plans) => {
          const prefix = `r${++run}`;
          const calls = plans.map((p, n) => ({ ...p, n, streamId: `${p.stream}${prefix}-1` }));
          const outcomes = await store.transaction((tx) => settle(calls.map((c) => tx.appendToStream(c.streamId, [ev(c)]))));
          // Exactly the appends whose hook did not fail resolved, and they alone are stored, in call order.
          expect(outcomes.map((outcome) => 'error' in outcome)).toEqual(calls.map((c) => c.fail));
          for (const streamId of new Set(calls.map((c) => c.streamId))) {
            const kept = calls.filter((c) => c.streamId === streamId && !c.fail);
            const stored = await store.readStream(streamId);
            expect(stored.map((e) => [e.version, planOf(e).n])).toEqual(kept.map((c, i) => [i + 1, c.n]));
            const audited = kept.filter((c) => c.audit).map((c) => ({ of: c.n }));
            expect((await store.readStream(`audit-${streamId}`)).map((e) => e.data)).toEqual(audited);
          }
          calls.forEach((c, i) => {
            const outcome = outcomes[i] as Outcome;
            if ('events' in outcome) expect(outcome.events.map((e) => planOf(e).n)).toEqual([c.n]);
          });
        }),
        { numRuns: 25 },
      );
    });
  });
}
