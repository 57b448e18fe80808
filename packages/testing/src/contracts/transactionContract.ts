import { ConcurrencyError, NestedStoreCallError, type RecordedEvent, type StoreTransaction, ValidationError } from '@tidemark/core';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../waitFor.js';
import type { EventStoreHarness } from './eventStoreHarness.js';
import { caught, expectUnchanged, readAllEvents, storeSnapshot, waitForHead } from './storeSnapshot.js';
import { useStores } from './useStores.js';

const ev = (n: number) => ({ type: 'thing.happened', data: { n } });

export function transactionContract(harness: EventStoreHarness): void {
  describe('transactions', () => {
    const open = useStores(harness);

    it('commits appends to two streams together and returns the work result', async () => {
      const store = await open();
      const result = await store.transaction(async (tx) => {
        const a = await tx.appendToStream('order-1', [ev(1)], { expectedVersion: 'no_stream' });
        const b = await tx.appendToStream('stock-1', [ev(2), ev(3)], { expectedVersion: 'no_stream' });
        return { a, b };
      });
      expect(result.a.nextExpectedVersion).toBe(1);
      expect(result.b.nextExpectedVersion).toBe(2);
      expect(result.b.position).toBeGreaterThan(result.a.position);
      await waitForHead(store, result.b.position);
      const all = await readAllEvents(store);
      expect(all.map((e) => [e.streamId, e.version])).toEqual([
        ['order-1', 1],
        ['stock-1', 1],
        ['stock-1', 2],
      ]);
      expect(all).toEqual([...result.a.events, ...result.b.events]);
      expect(await store.headPosition()).toBe(result.b.position);
    });

    it('rolls back everything when the work throws, running afterRollback and not afterCommit', async () => {
      const store = await open();
      const seed = await store.appendToStream('order-1', [ev(0)]);
      const before = await storeSnapshot(store, seed.position);
      const calls: string[] = [];
      const failure = new Error('boom');
      const error = await caught(
        () =>
          store.transaction(async (tx) => {
            tx.afterCommit(() => calls.push('commit'));
            tx.afterRollback(() => calls.push('rollback'));
            await tx.appendToStream('order-1', [ev(1)], { expectedVersion: 1 });
            await tx.appendToStream('stock-1', [ev(2)]);
            throw failure;
          }),
        Error,
      );
      expect(error).toBe(failure);
      await waitFor(() => calls.length > 0, 'afterRollback');
      expect(calls).toEqual(['rollback']);
      await expectUnchanged(store, before);
      expect(await store.streamExists('stock-1')).toBe(false);
      expect((await store.readStream('order-1')).map((e) => e.version)).toEqual([1]);
      // The rolled-back version numbers are free again.
      const next = await store.appendToStream('order-1', [ev(3)], { expectedVersion: 1 });
      expect(next.nextExpectedVersion).toBe(2);
    });

    it('rolls back when an append inside fails and the work lets the error escape', async () => {
      const store = await open();
      const before = await storeSnapshot(store);
      await caught(
        () =>
          store.transaction(async (tx) => {
            await tx.appendToStream('order-1', [ev(1)]);
            await tx.appendToStream('order-1', [ev(2)], { expectedVersion: 0 });
          }),
        ConcurrencyError,
      );
      await expectUnchanged(store, before);
    });

    it('lets reads inside the transaction see its own uncommitted appends', async () => {
      const store = await open();
      await store.appendToStream('order-1', [ev(1)]);
      await store.transaction(async (tx) => {
        await tx.appendToStream('order-1', [ev(2)]);
        await tx.appendToStream('order-2', [ev(3)]);
        expect((await tx.readStream('order-1')).map((e) => e.version)).toEqual([1, 2]);
        expect((await tx.readStream('order-1', { direction: 'backwards', limit: 1 }))[0]?.data).toEqual({ n: 2 });
        expect(await tx.streamExists('order-2')).toBe(true);
        const folded = await tx.aggregateStream('order-1', {
          initialState: () => [] as number[],
          evolve: (state: number[], event: { type: string; data: unknown }) => [...state, (event.data as { n: number }).n],
        });
        expect(folded).toEqual({ state: [1, 2], version: 2, exists: true });
      });
    });

    it('checks expected versions inside a transaction against its earlier appends', async () => {
      const store = await open();
      await store.transaction(async (tx) => {
        await tx.appendToStream('order-1', [ev(1)], { expectedVersion: 'no_stream' });
        await tx.appendToStream('order-1', [ev(2)], { expectedVersion: 1 });
        await tx.appendToStream('order-1', [ev(3)], { expectedVersion: 'stream_exists' });
        const stale = await caught(() => tx.appendToStream('order-1', [ev(99)], { expectedVersion: 1 }), ConcurrencyError);
        expect(stale.actual).toBe(3);
        await caught(() => tx.appendToStream('order-1', [ev(99)], { expectedVersion: 'no_stream' }), ConcurrencyError);
        // The caller caught the conflicts: the transaction goes on and commits its good appends.
        await tx.appendToStream('order-1', [ev(4)], { expectedVersion: 3 });
      });
      expect((await store.readStream('order-1')).map((e) => e.data)).toEqual([1, 2, 3, 4].map((n) => ({ n })));
    });

    it('runs afterCommit callbacks after the commit, when the events are readable', async () => {
      const store = await open();
      const calls: string[] = [];
      let seenByCallback: Promise<RecordedEvent[]> | undefined;
      await store.transaction(async (tx) => {
        tx.afterCommit(() => calls.push('first'));
        tx.afterCommit(() => {
          calls.push('second');
          seenByCallback = store.readStream('order-1');
        });
        tx.afterRollback(() => calls.push('rollback'));
        await tx.appendToStream('order-1', [ev(1)]);
        expect(calls).toEqual([]);
      });
      await waitFor(() => calls.length >= 2, 'afterCommit callbacks');
      expect(calls).toEqual(['first', 'second']);
      expect((await seenByCallback)?.map((e) => e.data)).toEqual([{ n: 1 }]);
    });

    it('calls onAppended listeners after a commit, and no longer after unsubscribing', async () => {
      const store = await open();
      let calls = 0;
      // What a reader of the stream saw at each notification: one must come after the commit.
      // (Stream reads, not readAll: global readers may see events a little later, see waitForHead.)
      const seen: Array<Promise<number>> = [];
      const unsubscribe = store.onAppended(() => {
        calls++;
        seen.push(store.readStream('order-1').then((events) => events.length));
      });
      const notifiedAfter = async (length: number) => (await Promise.all(seen)).some((n) => n >= length);
      await store.appendToStream('order-1', [ev(1)]);
      await waitFor(() => notifiedAfter(1), 'onAppended after an append');
      await store.transaction((tx) => tx.appendToStream('order-1', [ev(2)]));
      await waitFor(() => notifiedAfter(2), 'onAppended after a transaction');
      unsubscribe();
      const afterUnsubscribe = calls;
      await store.appendToStream('order-3', [ev(3)]);
      // Give a notification the same chance to arrive as before: a second listener must see a later one first.
      let control = 0;
      const stop = store.onAppended(() => control++);
      await store.appendToStream('order-4', [ev(4)]);
      await waitFor(() => control > 0, 'onAppended of a control listener');
      stop();
      expect(calls).toBe(afterUnsubscribe);
    });
  });

  describe('calling the store itself inside its transaction', () => {
    const open = useStores(harness);

    it('refuses store.appendToStream and store.transaction inside a transaction at once, and the transaction goes on', async () => {
      const store = await open();
      const result = await store.transaction(async (tx) => {
        await tx.appendToStream('order-1', [ev(1)]);
        // On a one-writer store these would wait for this very transaction: forever.
        const append = await caught(() => store.appendToStream('order-2', [ev(2)]), NestedStoreCallError);
        expect(append.code).toBe('nested_store_call');
        expect(append.details).toEqual({ operation: 'appendToStream' });
        expect(append.message).toContain('tx');
        const nested = await caught(() => store.transaction((inner) => inner.appendToStream('order-3', [ev(3)])), NestedStoreCallError);
        expect(nested.details).toEqual({ operation: 'transaction' });
        // Deeper in the work's async calls too.
        await caught(
          () => new Promise((resolve, reject) => setTimeout(() => store.appendToStream('order-4', [ev(4)]).then(resolve, reject), 1)),
          NestedStoreCallError,
        );
        return tx.appendToStream('order-1', [ev(5)]);
      });
      await waitForHead(store, result.position);
      expect((await readAllEvents(store)).map((e) => [e.streamId, e.data])).toEqual([
        ['order-1', { n: 1 }],
        ['order-1', { n: 5 }],
      ]);
    });

    it('refuses store.appendToStream from an append hook, failing that append and writing nothing', async () => {
      const store = await open();
      const seed = await store.appendToStream('order-1', [ev(0)]);
      store.addAppendHook(async (events) => {
        if (events.some((e) => e.streamId === 'order-2')) await store.appendToStream('audit-1', [ev(9)]);
      });
      const before = await storeSnapshot(store, seed.position);
      await caught(() => store.appendToStream('order-2', [ev(1)]), NestedStoreCallError);
      await expectUnchanged(store, before);
    });

    it('lets work left behind by a finished transaction call the store, and reads inside see what is committed', async () => {
      const store = await open();
      await store.appendToStream('order-1', [ev(1)]);
      let release: () => void = () => {};
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      let later: Promise<unknown> | undefined;
      await store.transaction(async (tx) => {
        await tx.appendToStream('order-1', [ev(2)]);
        // The store's reads are not the unit of work: they show the committed stream only.
        expect((await store.readStream('order-1')).map((e) => e.version)).toEqual([1]);
        expect(await store.streamExists('order-1')).toBe(true);
        // Started here, run after the transaction ended: an ordinary call by then.
        later = gate.then(() => store.appendToStream('order-1', [ev(3)], { expectedVersion: 2 }));
      });
      release();
      await later;
      expect((await store.readStream('order-1')).map((e) => e.data)).toEqual([1, 2, 3].map((n) => ({ n })));
    });
  });

  describe('append hooks', () => {
    const open = useStores(harness);

    it('calls each hook inside the append transaction with exactly the recorded events', async () => {
      const store = await open();
      const seen: Array<{ events: readonly RecordedEvent[]; visible: RecordedEvent[] }> = [];
      store.addAppendHook(async (events, tx) => {
        // Reading through the hook's tx shows the events: the hook runs inside the append's unit of work.
        seen.push({ events, visible: await tx.readStream(events[0]?.streamId ?? '') });
      });
      const first = await store.appendToStream('order-1', [ev(1), ev(2)]);
      const second = await store.appendToStream('order-1', [ev(3)]);
      expect(seen).toHaveLength(2);
      expect(seen[0]?.events).toEqual(first.events);
      expect(seen[0]?.visible).toEqual(first.events);
      expect(seen[1]?.events).toEqual(second.events);
      expect(seen[1]?.visible).toEqual([...first.events, ...second.events]);
    });

    it('runs every hook, in registration order, for appends inside a transaction too', async () => {
      const store = await open();
      const calls: string[] = [];
      store.addAppendHook((events) => void calls.push(`a:${events.map((e) => e.version).join(',')}`));
      store.addAppendHook((events) => void calls.push(`b:${events.map((e) => e.version).join(',')}`));
      await store.transaction(async (tx) => {
        await tx.appendToStream('order-1', [ev(1)]);
        await tx.appendToStream('order-1', [ev(2), ev(3)]);
      });
      expect(calls).toEqual(['a:1', 'b:1', 'a:2,3', 'b:2,3']);
    });

    it('is not called for an append that fails its checks or is an idempotent retry', async () => {
      const store = await open();
      let calls = 0;
      store.addAppendHook(() => void calls++);
      const id = '0190a5c4-3b2a-7cde-8f01-23456789abcd';
      await store.appendToStream('order-1', [{ ...ev(1), id }]);
      expect(calls).toBe(1);
      await store.appendToStream('order-1', [{ ...ev(1), id }]);
      await caught(() => store.appendToStream('order-1', [ev(2)], { expectedVersion: 0 }), ConcurrencyError);
      await caught(() => store.appendToStream('order-1', [{ type: '', data: {} }]), Error);
      expect(calls).toBe(1);
    });

    it('fails the append with the hook error and writes nothing when a hook throws', async () => {
      const store = await open();
      const seed = await store.appendToStream('order-1', [ev(0)]);
      const failure = new Error('projection failed');
      store.addAppendHook((events) => {
        if (events.some((e) => (e.data as { n: number }).n === 13)) throw failure;
      });
      const before = await storeSnapshot(store, seed.position);
      const error = await caught(() => store.appendToStream('order-1', [ev(12), ev(13)]), Error);
      expect(error).toBe(failure);
      await expectUnchanged(store, before);
      // The failed append left no gap in the versions.
      expect((await store.appendToStream('order-1', [ev(14)])).nextExpectedVersion).toBe(2);
    });

    it('keeps earlier appends of a larger transaction when the caller catches a hook failure', async () => {
      const store = await open();
      const failure = new Error('projection failed');
      store.addAppendHook((events) => {
        if (events.some((e) => (e.data as { n: number }).n === 13)) throw failure;
      });
      const last = await store.transaction(async (tx) => {
        await tx.appendToStream('order-1', [ev(1)]);
        const error = await caught(() => tx.appendToStream('order-1', [ev(13)]), Error);
        expect(error).toBe(failure);
        expect((await tx.readStream('order-1')).map((e) => e.data)).toEqual([{ n: 1 }]);
        await tx.appendToStream('order-2', [ev(2)], { expectedVersion: 'no_stream' });
        return tx.appendToStream('order-1', [ev(3)], { expectedVersion: 1 });
      });
      await waitForHead(store, last.position);
      const all = await readAllEvents(store);
      expect(all.map((e) => [e.streamId, e.version, e.data])).toEqual([
        ['order-1', 1, { n: 1 }],
        ['order-2', 1, { n: 2 }],
        ['order-1', 2, { n: 3 }],
      ]);
    });

    it("commits a hook's writes through the tx with the append, and rolls them back with it", async () => {
      const store = await open();
      // An inline projection that writes through the transaction it is given.
      store.addAppendHook(async (events, tx: StoreTransaction) => {
        const source = events.filter((e) => !e.streamId.startsWith('audit-'));
        if (source.length === 0) return;
        await tx.appendToStream(
          `audit-${source[0]?.streamId}`,
          source.map((e) => ({ type: 'audit.recorded', data: { of: e.id } })),
        );
      });
      const result = await store.appendToStream('order-1', [ev(1)]);
      const audit = await store.readStream('audit-order-1');
      expect(audit.map((e) => e.data)).toEqual([{ of: result.events[0]?.id }]);
      expect(audit[0]?.position).toBeGreaterThan(result.position);
      const before = await storeSnapshot(store, audit[0]?.position);
      await caught(
        () =>
          store.transaction(async (tx) => {
            await tx.appendToStream('order-2', [ev(2)]);
            expect(await tx.streamExists('audit-order-2')).toBe(true);
            throw new Error('abandon');
          }),
        Error,
      );
      await expectUnchanged(store, before);
      expect(await store.streamExists('audit-order-2')).toBe(false);
    });
    it("commits a 'relaxed' transaction's work and runs its afterCommit, but refuses its appends", async () => {
      const store = await open();
      const seed = await store.appendToStream('order-1', [ev(0)]);
      const before = await storeSnapshot(store, seed.position);
      const calls: string[] = [];
      const result = await store.transaction(
        async (tx) => {
          tx.afterCommit(() => calls.push('commit'));
          const refused = await caught(() => tx.appendToStream('order-1', [ev(1)]), ValidationError);
          expect(refused.message).toMatch(/relaxed/);
          // The refusal leaves the transaction usable: the rest of its work commits.
          expect(await tx.readStream('order-1')).toHaveLength(1);
          return 'done';
        },
        { durability: 'relaxed' },
      );
      expect(result).toBe('done');
      await waitFor(() => calls.length > 0, 'afterCommit');
      await expectUnchanged(store, before);
      // The store's own appends and full transactions are untouched by the relaxed one before.
      const after = await store.transaction((tx) => tx.appendToStream('order-1', [ev(2)], { expectedVersion: 1 }), { durability: 'full' });
      expect(after.nextExpectedVersion).toBe(2);
    });

    it('refuses an unknown durability before doing anything', async () => {
      const store = await open();
      let ran = false;
      const error = await caught(
        () =>
          store.transaction(
            async () => {
              ran = true;
            },
            { durability: 'eventually' as never },
          ),
        ValidationError,
      );
      expect(error.message).toMatch(/durability/);
      expect(ran).toBe(false);
    });
  });
}
