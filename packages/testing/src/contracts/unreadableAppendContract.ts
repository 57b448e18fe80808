import { AppendedButUnreadableError, type EventStage, newId, type RecordedEvent } from '@tidemark/core';
import { describe, expect, it } from 'vitest';
import type { EventStoreHarness } from './eventStoreHarness.js';
import { caught, readAllEvents, storeSnapshot, waitForHead } from './storeSnapshot.js';
import { useStores } from './useStores.js';

const ev = (n: number) => ({ id: newId(), type: 'thing.happened', data: { n } });

/**
 * A read stage that fails while `failing` is set, as decryption does while its key store is
 * unreachable: the append's own read-back fails, and later reads (once it is back) succeed.
 */
function flakyReads(mode: 'sync' | 'async') {
  const control = { failing: false };
  const stage: EventStage = {
    read(events) {
      if (!control.failing) return events;
      const error = new Error('key store unreachable');
      if (mode === 'sync') throw error;
      return Promise.reject(error);
    },
  };
  return { control, stage };
}

const countOf = (events: readonly RecordedEvent[], id: string) => events.filter((event) => event.id === id).length;

/**
 * An append whose events are committed must never look unwritten: its caller would append
 * them again. When reading them back through the read stages fails after the commit, the append
 * rejects with AppendedButUnreadableError, which carries the committed result; while the read
 * back still happens inside the transaction (hooks, `tx.appendToStream`), a failing read fails
 * the append like any other failure and nothing of it is committed.
 */
export function unreadableAppendContract(harness: EventStoreHarness): void {
  describe('an append whose events cannot be read back', () => {
    const open = useStores(harness);

    for (const mode of ['sync', 'async'] as const) {
      it(`rejects with AppendedButUnreadableError carrying the committed result, the events stored once (${mode} stage)`, async () => {
        const { control, stage } = flakyReads(mode);
        const store = await open({ stages: [stage] });
        await store.appendToStream('order-1', [ev(1)]);
        const appended = ev(2);
        control.failing = true;
        const error = await caught(() => store.appendToStream('order-1', [appended]), AppendedButUnreadableError);
        control.failing = false;
        const stored = await store.readStream('order-1');
        expect(stored.map((event) => [event.version, event.id])).toEqual([
          [1, stored[0]?.id],
          [2, appended.id],
        ]);
        expect(error.code).toBe('appended_but_unreadable');
        expect(error.message).toMatch(/was committed/);
        expect((error.cause as Error).message).toBe('key store unreachable');
        expect(error.result).toEqual({
          streamId: 'order-1',
          nextExpectedVersion: 2,
          position: stored[1]?.position,
          written: true,
          events: [],
        });
        await waitForHead(store, error.result.position);
        expect(countOf(await readAllEvents(store), appended.id)).toBe(1);
        // Its caller can tell it is there: a retry with the same ids returns the stored append.
        const retried = await store.appendToStream('order-1', [appended]);
        expect(retried).toMatchObject({ nextExpectedVersion: 2, position: error.result.position, written: false });
        expect(countOf(await readAllEvents(store), appended.id)).toBe(1);
      });
    }

    it('tells each of several concurrent appends (one batch, maybe) its own committed result', async () => {
      const { control, stage } = flakyReads('async');
      const store = await open({ stages: [stage] });
      const appended = [1, 2, 3, 4].map(ev);
      control.failing = true;
      const outcomes = await Promise.allSettled(appended.map((event, i) => store.appendToStream(`order-${i}`, [event])));
      control.failing = false;
      for (const [i, outcome] of outcomes.entries()) {
        expect(outcome.status).toBe('rejected');
        const error = (outcome as PromiseRejectedResult).reason as AppendedButUnreadableError;
        expect(error).toBeInstanceOf(AppendedButUnreadableError);
        const stored = await store.readStream(`order-${i}`);
        expect(stored.map((event) => event.id)).toEqual([appended[i]?.id]);
        expect(error.result).toMatchObject({
          streamId: `order-${i}`,
          nextExpectedVersion: 1,
          position: stored[0]?.position,
          written: true,
        });
      }
    });

    it('rolls a hooked append back when its read fails inside its transaction: it rejects with the cause, nothing written', async () => {
      const { control, stage } = flakyReads('async');
      const store = await open({ stages: [stage] });
      const seen: number[] = [];
      store.addAppendHook(async (events) => {
        seen.push(events.length);
      });
      const seed = await store.appendToStream('order-1', [ev(1)]);
      const before = await storeSnapshot(store, seed.position);
      control.failing = true;
      const error = await store.appendToStream('order-1', [ev(2)]).catch((e: unknown) => e);
      control.failing = false;
      expect(error).not.toBeInstanceOf(AppendedButUnreadableError);
      expect((error as Error).message).toBe('key store unreachable');
      expect(seen).toEqual([1]);
      expect(await storeSnapshot(store, before.head)).toEqual(before);
    });

    it('never commits an append inside a transaction whose read back failed, even when the work catches the failure', async () => {
      const { control, stage } = flakyReads('async');
      const store = await open({ stages: [stage] });
      const seed = await store.appendToStream('seed-1', [ev(0)]);
      const before = await storeSnapshot(store, seed.position);
      let failure: unknown;
      const outcome = await store
        .transaction(async (tx) => {
          await tx.appendToStream('kept-1', [ev(1)]);
          control.failing = true;
          failure = await tx.appendToStream('failed-1', [ev(2)]).catch((e: unknown) => e);
          control.failing = false;
        })
        .then(
          () => 'committed',
          (error: unknown) => error,
        );
      // Not committed yet when it failed: the plain failure, never AppendedButUnreadableError.
      expect((failure as Error).message).toBe('key store unreachable');
      expect(failure).not.toBeInstanceOf(AppendedButUnreadableError);
      expect(await store.streamExists('failed-1')).toBe(false);
      // The rest commits (the append undone alone), or, where nothing can undo it alone
      // (PostgreSQL, no savepoint without hooks), the transaction rolls back with the failure.
      if (outcome === 'committed') expect((await store.readStream('kept-1')).length).toBe(1);
      else {
        expect(outcome).toBe(failure);
        expect(await storeSnapshot(store, before.head)).toEqual(before);
      }
    });
  });
}
