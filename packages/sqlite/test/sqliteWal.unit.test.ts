import { createSqliteEventStore } from '@tidemark/sqlite';
import { waitFor } from '@tidemark/testing';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { tempSqliteFiles } from './tempSqliteFiles.js';

const files = tempSqliteFiles();
afterAll(() => files.remove());

describe('SQLite WAL upkeep', () => {
  it('truncates the WAL once a reader holding a read transaction lets go', async () => {
    const file = files.next();
    const store = createSqliteEventStore({ file, walCheckpointIdleMs: 20 });
    const reader = new Database(file, { readonly: true });
    try {
      await store.appendToStream('seed-1', [{ type: 'seeded', data: {} }]);
      // A backup or BI tool: a read transaction open on an old snapshot pins the WAL.
      reader.prepare('BEGIN').run();
      expect(reader.prepare('SELECT count(*) FROM events').pluck().get()).toBe(1);
      for (let i = 0; i < 200; i++) await store.appendToStream(`s-${i}`, [{ type: 'written', data: { pad: 'x'.repeat(2000) } }]);
      expect(store.walSize()).toBeGreaterThan(200 * 2000);
      reader.prepare('COMMIT').run();
      await waitFor(() => store.walSize() === 0, 'the idle checkpoint to truncate the WAL', 10_000);
      expect(await store.headPosition()).toBe(201n);
    } finally {
      reader.close();
      await store.close();
    }
  });

  it('sets journal_size_limit on the writer', async () => {
    const store = createSqliteEventStore({ file: files.next() });
    const limit = await store.transaction(async (tx) => tx.db.pragma('journal_size_limit', { simple: true }));
    expect(limit).toBe(64 * 1024 * 1024);
    await store.close();
  });

  it('keeps tx.sql statements prepared across transactions', async () => {
    const store = createSqliteEventStore({ file: files.next() });
    const db = await store.transaction(async (tx) => {
      await tx.sql.execute('CREATE TABLE t (x INTEGER)');
      await tx.sql.execute('INSERT INTO t (x) VALUES ($1)', [1]);
      return tx.db;
    });
    const prepare = vi.spyOn(db, 'prepare');
    await store.transaction((tx) => tx.sql.execute('INSERT INTO t (x) VALUES ($1)', [2]));
    expect(prepare).not.toHaveBeenCalled();
    await store.close();
  });
});
