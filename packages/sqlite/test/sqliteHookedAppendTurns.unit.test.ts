import { createSqliteEventStore, type SqliteTransaction } from '@tidemark/sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { tempSqliteFiles } from './tempSqliteFiles.js';

const files = tempSqliteFiles();
afterAll(() => files.remove());

const ev = (n: number) => ({ type: 'thing.happened', data: { n } });
const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('SQLite: SQL beside a hooked append in one transaction', () => {
  it('runs tx.sql issued during a hooked append after it, so its rollback cannot undo them; the hook’s own SQL goes with it', async () => {
    const store = createSqliteEventStore({ file: files.next() });
    await store.transaction(async (tx) => void (await tx.sql.execute('CREATE TABLE t (n INTEGER PRIMARY KEY)')));
    // An inline projection writing through tx.sql, and failing for n = 1 after its write.
    store.addAppendHook(async (events, tx: SqliteTransaction) => {
      const n = (events[0]?.data as { n: number } | undefined)?.n ?? 0;
      await turn();
      await tx.sql.execute('INSERT INTO t (n) VALUES ($1)', [100 + n]);
      await turn();
      if (n === 1) throw new Error('projection failed');
    });
    const outcome = await store.transaction(async (tx) => {
      const failing = tx.appendToStream('a-1', [ev(1)]).catch((error: unknown) => error);
      const beside = tx.sql.execute('INSERT INTO t (n) VALUES (1)');
      const seen = tx.sql.query<{ count: number }>(`SELECT count(*) AS count FROM events WHERE stream_id = 'a-1'`);
      const kept = tx.appendToStream('b-1', [ev(2)]);
      return { failed: await failing, inserted: await beside, seen: await seen, kept: await kept };
    });
    expect(String(outcome.failed)).toMatch(/projection failed/);
    expect(outcome.inserted).toBe(1);
    // Issued during the failing append, it ran after its rollback: no trace of it.
    expect(outcome.seen).toEqual([{ count: 0 }]);
    expect(outcome.kept.nextExpectedVersion).toBe(1);
    expect(await store.queries.query('SELECT n FROM t ORDER BY n')).toEqual([{ n: 1 }, { n: 102 }]);
    expect(await store.streamExists('a-1')).toBe(false);
    await store.close();
  });
});
