import { type EventStore, StoreBusyError } from '@tidemark/core';
import { createSqliteEventStore } from '@tidemark/sqlite';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { tempSqliteFiles } from './tempSqliteFiles.js';

const files = tempSqliteFiles();
afterAll(() => files.remove());

const busyTimeoutMs = 50;
const deposited = (n: number) => ({ type: 'account.deposited', data: { n } });

/** A connection of its own holding the write lock, as another process would: it does not share this process's writer lock. */
function holdWriteLock(file: string): { release(): void } {
  const other = new Database(file);
  other.exec('BEGIN IMMEDIATE');
  return {
    release() {
      if (other.inTransaction) other.exec('ROLLBACK');
      other.close();
    },
  };
}

/** Every outcome, failing the test instead of hanging it when one of the promises never settles. */
async function settledWithin<T>(promises: readonly Promise<T>[], ms = 5000): Promise<PromiseSettledResult<T>[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`appends still unsettled after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([Promise.allSettled(promises), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function expectAllBusy(outcomes: readonly PromiseSettledResult<unknown>[], file: string): void {
  for (const outcome of outcomes) {
    expect(outcome.status).toBe('rejected');
    const reason = (outcome as PromiseRejectedResult).reason;
    expect(reason).toBeInstanceOf(StoreBusyError);
    expect(reason).toMatchObject({ code: 'store_busy', details: { file, busyTimeoutMs, sqliteCode: 'SQLITE_BUSY' } });
  }
}

async function streamsInLog(store: EventStore): Promise<string[]> {
  const streams: string[] = [];
  for await (const event of store.readAll()) streams.push(event.streamId);
  return streams;
}

/** After the lock is free, the store commits again: a lone append, then a batch. */
async function expectWritingAgain(store: EventStore): Promise<string[]> {
  await store.appendToStream('after-1', [deposited(1)]);
  const outcomes = await settledWithin(['after-2', 'after-3', 'after-4'].map((id, i) => store.appendToStream(id, [deposited(i + 2)])));
  expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
  return ['after-1', 'after-2', 'after-3', 'after-4'];
}

describe('SQLite group commit: another connection holding the write lock past the busy timeout', () => {
  it('rejects every append of a batch with StoreBusyError, writes none of them and keeps committing afterwards', async () => {
    const file = files.next();
    const store = createSqliteEventStore({ file, busyTimeoutMs });
    await store.appendToStream('warm-up', [deposited(0)]);
    // Past the check phase, the store is idle: the first append goes alone at once, the others
    // queue behind it and go together as one batch in the next check phase.
    await new Promise((resolve) => setImmediate(resolve));
    const lock = holdWriteLock(file);
    let outcomes: PromiseSettledResult<unknown>[];
    try {
      outcomes = await settledWithin([1, 2, 3, 4].map((n) => store.appendToStream(`account-${n}`, [deposited(n)])));
    } finally {
      lock.release();
    }
    expectAllBusy(outcomes, file);
    const acknowledged = await expectWritingAgain(store);
    expect(await streamsInLog(store)).toEqual(['warm-up', ...acknowledged]);
    await store.close();
  });

  it('rejects a batch that waited for an open transaction when the lock is taken right after that commit', async () => {
    const file = files.next();
    const store = createSqliteEventStore({ file, busyTimeoutMs });
    let lock: { release(): void } | undefined;
    let outcomes: PromiseSettledResult<unknown>[];
    try {
      const transaction = store.transaction(async (tx) => {
        await tx.appendToStream('in-transaction', [deposited(0)]);
        // Still open while the appends below reach the store and queue behind it.
        await new Promise((resolve) => setTimeout(resolve, 10));
        // Another process takes the lock the moment this transaction commits, before the batch runs.
        tx.afterCommit(() => {
          lock = holdWriteLock(file);
        });
      });
      // Queued behind the open transaction: they go as one batch once it has released the writer.
      const appends = [1, 2, 3].map((n) => store.appendToStream(`account-${n}`, [deposited(n)]));
      await transaction;
      outcomes = await settledWithin(appends);
    } finally {
      lock?.release();
    }
    expectAllBusy(outcomes, file);
    const acknowledged = await expectWritingAgain(store);
    expect(await streamsInLog(store)).toEqual(['in-transaction', ...acknowledged]);
    await store.close();
  });

  it('rejects hooked appends with StoreBusyError after the busy timeout, and tries later ones afresh', async () => {
    const file = files.next();
    const store = createSqliteEventStore({ file, busyTimeoutMs });
    const hooked: string[] = [];
    store.addAppendHook((events) => void hooked.push(...events.map((event) => event.streamId)));
    await store.appendToStream('warm-up', [deposited(0)]);
    const lock = holdWriteLock(file);
    let outcomes: PromiseSettledResult<unknown>[];
    let later: PromiseSettledResult<unknown>[];
    try {
      outcomes = await settledWithin(
        [1, 2].map((n) => store.appendToStream(`account-${n}`, [deposited(n)])),
        2000,
      );
      // Not left queued from the failed attempt: a new one meets the lock and fails in its turn.
      later = await settledWithin([store.appendToStream('account-3', [deposited(3)])], 2000);
    } finally {
      lock.release();
    }
    expectAllBusy(outcomes, file);
    expectAllBusy(later, file);
    const acknowledged = await expectWritingAgain(store);
    expect(await streamsInLog(store)).toEqual(['warm-up', ...acknowledged]);
    expect(hooked).toEqual(['warm-up', ...acknowledged]);
    await store.close();
  });
});
