import { join } from 'node:path';
import { ValidationError } from '@tidemark/core';
import { createSqliteEventStore } from '@tidemark/sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { tempSqliteFiles } from './tempSqliteFiles.js';

const files = tempSqliteFiles();
afterAll(() => files.remove());

const placed = { type: 'order.placed', data: {} };

// SQLite reports all of these as read-only (sqlite3_stmt_readonly): none writes to the file.
const connectionChanges = (dir: string) => [
  'BEGIN',
  'BEGIN IMMEDIATE',
  '/* a comment first */ begin deferred transaction',
  'COMMIT',
  'END',
  'ROLLBACK',
  'SAVEPOINT mine',
  'RELEASE mine',
  'ROLLBACK TO mine',
  'PRAGMA query_only = OFF',
  'PRAGMA foreign_keys = OFF',
  'PRAGMA main.secure_delete = OFF',
  'PRAGMA busy_timeout(0)',
  'PRAGMA synchronous = OFF',
  'EXPLAIN PRAGMA busy_timeout = 1',
  `ATTACH '${join(dir, 'other.db')}' AS other`,
  'DETACH other',
  `VACUUM INTO '${join(dir, 'copy.db')}'`,
  'SELECT 1; BEGIN',
];

describe('SQLite store: queries.query is read-only SQL on committed data', () => {
  it('refuses BEGIN on a file store, so the read connection keeps seeing new commits', async () => {
    const store = createSqliteEventStore({ file: files.next() });
    await store.appendToStream('order-1', [placed]);
    await expect(store.queries.query('BEGIN')).rejects.toThrow(ValidationError);
    await store.appendToStream('order-1', [placed]);
    expect(await store.headPosition()).toBe(2n);
    expect(await store.readStream('order-1')).toHaveLength(2);
    expect(await store.queries.query('SELECT count(*) AS n FROM events')).toEqual([{ n: 2 }]);
    await store.close();
  });

  it("refuses BEGIN and ROLLBACK on ':memory:', where they would take acknowledged appends with them", async () => {
    const store = createSqliteEventStore({ file: ':memory:' });
    await expect(store.queries.query('BEGIN')).rejects.toThrow(ValidationError);
    const { position } = await store.appendToStream('order-1', [placed]);
    await expect(store.queries.query('ROLLBACK')).rejects.toThrow(ValidationError);
    expect(await store.headPosition()).toBe(position);
    expect(await store.readStream('order-1')).toHaveLength(1);
    await store.close();
  });

  for (const file of ['file', ':memory:']) {
    it(`refuses transaction control, ATTACH, DETACH, VACUUM and setting PRAGMAs, with no effect, and still runs reads (${file})`, async () => {
      const store = createSqliteEventStore({ file: file === 'file' ? files.next() : ':memory:', busyTimeoutMs: 1234 });
      await store.appendToStream('order-1', [placed]);
      const settings =
        'SELECT * FROM pragma_query_only, pragma_foreign_keys, pragma_busy_timeout, pragma_synchronous, pragma_secure_delete';
      const before = await store.queries.query(settings);
      for (const sql of connectionChanges(files.dir)) {
        await expect(store.queries.query(sql), sql).rejects.toThrow(ValidationError);
      }
      // SQLite applies PRAGMAs like foreign_keys while merely preparing them: nothing may have changed.
      expect(await store.queries.query(settings)).toEqual(before);
      expect(await store.queries.query('SELECT name FROM pragma_database_list')).toEqual([{ name: 'main' }]);
      await store.appendToStream('order-1', [placed]);
      expect(await store.headPosition()).toBe(2n);
      // Reads still run: SELECT, WITH, EXPLAIN, and PRAGMAs that only report.
      expect(await store.queries.query('WITH n AS (SELECT count(*) AS n FROM events) SELECT n FROM n')).toEqual([{ n: 2 }]);
      expect(await store.queries.query(`SELECT 'BEGIN; COMMIT' AS "ROLLBACK" -- END`)).toEqual([{ ROLLBACK: 'BEGIN; COMMIT' }]);
      expect(await store.queries.query('EXPLAIN QUERY PLAN SELECT * FROM events WHERE position > $1', [0])).not.toHaveLength(0);
      expect(await store.queries.query('PRAGMA table_info(events)')).toContainEqual(expect.objectContaining({ name: 'position' }));
      expect(await store.queries.query("PRAGMA main.index_list('events')")).not.toHaveLength(0);
      expect(await store.queries.query('PRAGMA quick_check')).toEqual([{ quick_check: 'ok' }]);
      expect(await store.queries.query('PRAGMA foreign_keys')).toEqual([{ foreign_keys: 1 }]);
      await store.close();
    });
  }
});

describe('SQLite store: tx.sql runs inside the store transaction', () => {
  it('refuses BEGIN, COMMIT, END and ROLLBACK, alone or in a script, and keeps savepoints, writes and trigger bodies', async () => {
    const store = createSqliteEventStore({ file: files.next() });
    await store.transaction(async (tx) => {
      await tx.sql.execute(`CREATE TABLE totals (id TEXT PRIMARY KEY, n INTEGER NOT NULL);
        CREATE TABLE audit (id TEXT);
        CREATE TRIGGER totals_audit AFTER INSERT ON totals BEGIN
          INSERT INTO audit VALUES (new.id);
          SELECT CASE WHEN new.n < 0 THEN RAISE(ABORT, 'negative') END;
        END;
        CREATE INDEX totals_n ON totals (n)`);
      await tx.appendToStream('order-1', [placed]);
      for (const sql of ['COMMIT', 'END TRANSACTION', 'ROLLBACK', 'BEGIN', "INSERT INTO totals VALUES ('x', 0); COMMIT; BEGIN"]) {
        await expect(tx.sql.execute(sql), sql).rejects.toThrow(ValidationError);
        await expect(tx.sql.query(sql), sql).rejects.toThrow(ValidationError);
      }
      expect(tx.db.inTransaction).toBe(true);
      // Savepoints nest inside the store's transaction: they undo part of it, as on PostgreSQL.
      await tx.sql.execute("INSERT INTO totals VALUES ('a', 1)");
      await tx.sql.execute('SAVEPOINT before_b');
      await tx.sql.execute("INSERT INTO totals VALUES ('b', 2)");
      await tx.sql.execute('ROLLBACK TRANSACTION TO SAVEPOINT before_b');
      await tx.sql.execute('RELEASE before_b');
    });
    expect(await store.headPosition()).toBe(1n);
    expect(await store.queries.query('SELECT id FROM totals')).toEqual([{ id: 'a' }]);
    expect(await store.queries.query('SELECT id FROM audit')).toEqual([{ id: 'a' }]);
    // A failing unit of work still rolls back all of it: nothing committed it half-way.
    await expect(
      store.transaction(async (tx) => {
        await tx.appendToStream('order-2', [placed]);
        await tx.sql.execute("INSERT INTO totals VALUES ('c', 3)");
        await tx.sql.execute('COMMIT').catch(() => {});
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect(await store.streamExists('order-2')).toBe(false);
    expect(await store.queries.query('SELECT id FROM totals')).toEqual([{ id: 'a' }]);
    await store.close();
  });
});
