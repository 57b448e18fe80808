import { mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import {
  ConcurrencyError,
  DuplicateEventIdError,
  IdempotencyConflictError,
  newId,
  StreamDeletedError,
  ValidationError,
} from '@tidemark/core';
import { createSqliteEventStore, type SqliteEventStore } from '@tidemark/sqlite';
import { eventStoreContract, eventStoreModelContract } from '@tidemark/testing';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { tempSqliteFiles } from './tempSqliteFiles.js';

const files = tempSqliteFiles('tidemark-sqlite-thread-');
afterAll(() => files.remove());

const deposited = (n: number) => ({ type: 'account.deposited', data: { n } });

/** A store whose group commit writes on its thread from the first append on. */
async function threadedStore(file = files.next(), options: object = {}): Promise<SqliteEventStore> {
  const store = createSqliteEventStore({ file, writerThread: 'always', ...options });
  await vi.waitFor(() => expect(store.writerThread()).toBe('running'), { timeout: 20_000, interval: 10 });
  return store;
}

// The whole port contract, with every autocommit append written on the writer thread.
const contractFiles = tempSqliteFiles('tidemark-sqlite-thread-contract-');
const harness = {
  create: async (options?: object) => threadedStore(contractFiles.next(), options),
  teardown: async () => contractFiles.remove(),
};
eventStoreContract('sqlite (writer thread)', harness);
eventStoreModelContract('sqlite (writer thread)', harness);

describe('SQLite writer thread', () => {
  it('starts at the first appends that arrive together, while a lone append commits on the caller’s thread', async () => {
    const file = files.next();
    const store = createSqliteEventStore({ file, writerThread: 'auto' });
    await store.appendToStream('lone-1', [deposited(1)]);
    await new Promise((resolve) => setImmediate(resolve));
    await store.appendToStream('lone-2', [deposited(2)]);
    expect(store.writerThread()).toBe('not-started');
    await Promise.all([store.appendToStream('together-1', [deposited(3)]), store.appendToStream('together-2', [deposited(4)])]);
    expect(['starting', 'running']).toContain(store.writerThread());
    await vi.waitFor(() => expect(store.writerThread()).toBe('running'), { timeout: 20_000, interval: 10 });
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.appendToStream(`busy-${i}`, [deposited(i)])));
    expect(results.map((r) => r.position)).toEqual(results.map((_, i) => BigInt(5 + i)));
    await store.close();
    expect(store.writerThread()).toBe('closed');

    for (const options of [{}, { writerThread: false as const }, { groupCommit: false, writerThread: 'auto' as const }]) {
      const other = createSqliteEventStore({ file: files.next(), ...options });
      expect(other.writerThread()).toBe('off');
      await other.close();
    }
    const inMemory = createSqliteEventStore({ file: ':memory:', writerThread: 'always' });
    expect(inMemory.writerThread()).toBe('off');
    await inMemory.close();
    expect(() => createSqliteEventStore({ file: files.next(), writerThread: true as never })).toThrow(ValidationError);
  });

  it('gives each caller of a batch its own result, its events readable at the returned positions', async () => {
    const store = await threadedStore();
    let wakeUps = 0;
    store.onAppended(() => wakeUps++);
    const appends = Array.from({ length: 50 }, (_, i) =>
      store.appendToStream(`account-${i % 5}`, [{ ...deposited(i), metadata: { userId: `user-${i}` } }, deposited(i + 100)]),
    );
    const results = await Promise.all(appends);
    expect(wakeUps).toBeGreaterThan(0);
    for (const [i, result] of results.entries()) {
      expect(result.written).toBe(true);
      // events are built lazily on this side, from the prepared append: exactly what a read returns.
      const read = (await store.readStream(result.streamId)).slice(result.nextExpectedVersion - 2, result.nextExpectedVersion);
      expect(read).toEqual(result.events);
      expect(result.events.map((e) => e.data)).toEqual([{ n: i }, { n: i + 100 }]);
      expect(result.events[1]!.position).toBe(result.position);
      expect(result.events[0]!.metadata).toMatchObject({ userId: `user-${i}` });
    }
    // Versions per stream follow arrival order, with no gap.
    for (let s = 0; s < 5; s++) {
      const versions = results.filter((r) => r.streamId === `account-${s}`).map((r) => r.nextExpectedVersion);
      expect(versions).toEqual([2, 4, 6, 8, 10, 12, 14, 16, 18, 20]);
    }
    await store.close();
  });

  it('brings back the typed errors of the appends that failed, and commits the rest of their batch', async () => {
    const store = await threadedStore();
    const retriedId = newId();
    await store.appendToStream('account-retried', [{ id: retriedId, ...deposited(1) }]);
    await store.appendToStream('account-deleted', [deposited(1)]);
    await store.tombstoneStream('account-deleted');
    const outcomes = await Promise.allSettled([
      store.appendToStream('account-ok-1', [deposited(1)]),
      store.appendToStream('account-retried', [deposited(2)], { expectedVersion: 0 }),
      store.appendToStream('account-deleted', [deposited(2)]),
      store.appendToStream('account-other', [{ id: retriedId, ...deposited(1) }]),
      store.appendToStream('account-retried', [{ id: retriedId, ...deposited(9) }]),
      store.appendToStream('account-retried', [{ id: retriedId, ...deposited(1) }]),
      store.appendToStream('account-ok-2', [deposited(2)]),
    ]);
    const [ok1, conflict, deleted, duplicate, changed, retry, ok2] = outcomes;
    expect(ok1).toMatchObject({ status: 'fulfilled', value: { written: true } });
    expect(ok2).toMatchObject({ status: 'fulfilled', value: { written: true } });
    const reason = (outcome: PromiseSettledResult<unknown>) => (outcome as PromiseRejectedResult).reason;
    expect(reason(conflict)).toBeInstanceOf(ConcurrencyError);
    expect(reason(conflict)).toMatchObject({ streamId: 'account-retried', expected: 0, actual: 1, code: 'concurrency' });
    expect(reason(deleted)).toBeInstanceOf(StreamDeletedError);
    expect(reason(deleted)).toMatchObject({ streamId: 'account-deleted' });
    expect(reason(duplicate)).toBeInstanceOf(DuplicateEventIdError);
    expect(reason(changed)).toBeInstanceOf(IdempotencyConflictError);
    expect(reason(changed)).toMatchObject({ details: { field: 'data', eventId: retriedId } });
    // The exact retry is the idempotent success it is on the caller's thread.
    expect(retry).toMatchObject({ status: 'fulfilled', value: { written: false, nextExpectedVersion: 1, position: 1n } });
    expect((await store.readStream('account-retried')).map((e) => e.data)).toEqual([{ n: 1 }]);
    expect(await store.streamExists('account-other')).toBe(false);
    await store.close();
  });

  it('takes turns with transactions on the same file, each seeing what committed before it', async () => {
    const store = await threadedStore();
    const resolved: number[] = [];
    const appends = Array.from({ length: 30 }, (_, i) =>
      store.appendToStream('ledger', [deposited(i)]).then((result) => {
        resolved.push(result.nextExpectedVersion);
        return result;
      }),
    );
    // Queued for the writer while batches are on the thread: it runs between two of them.
    const inTransaction = store.transaction(async (tx) => {
      const events = await tx.readStream('ledger');
      const result = await tx.appendToStream('ledger', [deposited(100)], { expectedVersion: events.length });
      return result.nextExpectedVersion;
    });
    const later = Array.from({ length: 30 }, (_, i) => store.appendToStream('ledger', [deposited(200 + i)]));
    const [, txVersion] = await Promise.all([Promise.all(appends), inTransaction, Promise.all(later)]);
    const events = await store.readStream('ledger');
    expect(events.map((e) => e.version)).toEqual(events.map((_, i) => i + 1));
    expect(events).toHaveLength(61);
    expect(events[txVersion - 1]!.data).toEqual({ n: 100 });
    // Callers hear back in commit order.
    expect(resolved).toEqual([...resolved].sort((a, b) => a - b));
    await store.close();
  });

  it('falls back to writing on its own thread when the writer thread cannot open the file', async () => {
    const dir = join(files.dir, 'moved-away');
    mkdirSync(dir);
    const file = join(dir, 'store.db');
    const reported: Array<{ error: unknown; context: string }> = [];
    const store = createSqliteEventStore({ file, writerThread: 'always', onError: (error, context) => reported.push({ error, context }) });
    await store.appendToStream('before', [deposited(0)]);
    // The store's own connections stay open; the thread finds no file where it was.
    renameSync(dir, `${dir}-elsewhere`);
    try {
      await vi.waitFor(() => expect(store.writerThread()).toBe('failed'), { timeout: 20_000, interval: 10 });
      expect(reported).toEqual([expect.objectContaining({ context: expect.stringContaining('writer thread') })]);
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => store.appendToStream(`after-${i}`, [deposited(i)])));
      expect(results.map((r) => r.position)).toEqual(results.map((_, i) => BigInt(i + 2)));
      expect(await store.headPosition()).toBe(11n);
      await store.close();
    } finally {
      renameSync(`${dir}-elsewhere`, dir);
    }
  });
});
