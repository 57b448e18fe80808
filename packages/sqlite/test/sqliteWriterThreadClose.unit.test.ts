import { mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { createSqliteEventStore, type SqliteEventStore } from '@tidemark/sqlite';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { tempSqliteFiles } from './tempSqliteFiles.js';

/** Every writer thread the stores start, to see whether it has really exited. */
const workers = vi.hoisted(() => [] as Array<{ worker: Worker; exited: boolean }>);
vi.mock('node:worker_threads', async (importOriginal) => {
  const original = await importOriginal<typeof import('node:worker_threads')>();
  class TrackedWorker extends original.Worker {
    constructor(...args: ConstructorParameters<typeof original.Worker>) {
      super(...args);
      const entry = { worker: this as Worker, exited: false };
      workers.push(entry);
      this.once('exit', () => {
        entry.exited = true;
      });
    }
  }
  return { ...original, Worker: TrackedWorker };
});

const files = tempSqliteFiles('tidemark-sqlite-thread-close-');
afterAll(() => files.remove());

const deposited = (n: number) => ({ type: 'account.deposited', data: { n } });

async function running(store: SqliteEventStore): Promise<SqliteEventStore> {
  await vi.waitFor(() => expect(store.writerThread()).toBe('running'), { timeout: 20_000, interval: 10 });
  return store;
}

/** The one thread started since `before` threads were. */
function startedSince(before: number): { worker: Worker; exited: boolean } {
  expect(workers.length).toBe(before + 1);
  return workers[before]!;
}

describe('SQLite writer thread, once the store is closed', () => {
  it('says closed, and its thread has exited, when close() resolves', async () => {
    const before = workers.length;
    const store = await running(createSqliteEventStore({ file: files.next(), writerThread: 'always' }));
    const thread = startedSince(before);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.appendToStream(`s-${i % 3}`, [deposited(i)])));
    expect(results.every((r) => r.written)).toBe(true);
    expect(thread.exited).toBe(false);
    await store.close();
    expect(thread.exited).toBe(true);
    expect(store.writerThread()).toBe('closed');
    // A second close() changes nothing.
    await store.close();
    expect(store.writerThread()).toBe('closed');
  });

  it('says closed, the thread gone, when the store closes while its thread is still starting', async () => {
    const before = workers.length;
    const store = createSqliteEventStore({ file: files.next(), writerThread: 'always' });
    const thread = startedSince(before);
    expect(store.writerThread()).toBe('starting');
    await Promise.all([store.appendToStream('a', [deposited(1)]), store.close()]);
    expect(thread.exited).toBe(true);
    expect(store.writerThread()).toBe('closed');
  });

  it('says closed, not not-started, for an auto store whose thread never started, and starts none on close', async () => {
    const before = workers.length;
    const store = createSqliteEventStore({ file: files.next(), writerThread: 'auto' });
    await store.appendToStream('lone', [deposited(1)]);
    expect(store.writerThread()).toBe('not-started');
    await store.close();
    expect(store.writerThread()).toBe('closed');
    expect(workers.length).toBe(before);
  });

  it('says closed for a thread that failed, once the store is closed', async () => {
    const dir = join(files.dir, 'moved-away');
    mkdirSync(dir);
    const file = join(dir, 'store.db');
    const before = workers.length;
    const store = createSqliteEventStore({ file, writerThread: 'always', onError: () => {} });
    const thread = startedSince(before);
    renameSync(dir, `${dir}-elsewhere`);
    try {
      await vi.waitFor(() => expect(store.writerThread()).toBe('failed'), { timeout: 20_000, interval: 10 });
      await store.close();
      expect(thread.exited).toBe(true);
      expect(store.writerThread()).toBe('closed');
    } finally {
      renameSync(`${dir}-elsewhere`, dir);
    }
  });

  it('stays off for stores that never have a thread', async () => {
    for (const options of [{}, { writerThread: false as const }, { groupCommit: false, writerThread: 'auto' as const }]) {
      const store = createSqliteEventStore({ file: files.next(), ...options });
      await store.close();
      expect(store.writerThread()).toBe('off');
    }
  });
});
