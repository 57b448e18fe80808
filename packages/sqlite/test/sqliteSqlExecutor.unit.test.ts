import { createSqliteEventStore, createSqliteSqlExecutor, rewritePlaceholders } from '@tidemark/sqlite';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { tempSqliteFiles } from './tempSqliteFiles.js';

const files = tempSqliteFiles();
afterAll(() => files.remove());

describe('rewritePlaceholders', () => {
  it('turns $n into ? and records which parameter each takes, repeats included', () => {
    expect(rewritePlaceholders('SELECT $1, $2, $1')).toEqual({ sql: 'SELECT ?, ?, ?', parameterOrder: [0, 1, 0] });
  });

  it('reads multi-digit placeholders whole: $10 is the tenth, not $1 then 0', () => {
    expect(rewritePlaceholders('VALUES ($10, $1, $2)')).toEqual({ sql: 'VALUES (?, ?, ?)', parameterOrder: [9, 0, 1] });
  });

  it('leaves $n inside string literals, quoted identifiers and comments alone', () => {
    const sql = `SELECT '$1 it''s $2', "col$3", $1 -- $4\n/* $5 */ FROM t WHERE x = $2`;
    expect(rewritePlaceholders(sql)).toEqual({
      sql: `SELECT '$1 it''s $2', "col$3", ? -- $4\n/* $5 */ FROM t WHERE x = ?`,
      parameterOrder: [0, 1],
    });
  });

  it('rejects $0', () => {
    expect(() => rewritePlaceholders('SELECT $0')).toThrow(RangeError);
  });
});

describe('SQLite SqlExecutor', () => {
  const db = new Database(':memory:');
  const sql = createSqliteSqlExecutor(db);

  it('binds a repeated $1 and $10 to the right values', async () => {
    const params = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'];
    expect(await sql.query('SELECT $1 AS first, $10 AS tenth, $1 AS again, $2 AS second', params)).toEqual([
      { first: 'a', tenth: 'j', again: 'a', second: 'b' },
    ]);
  });

  it('converts values the way pg sends them: booleans, dates, JSON, undefined', async () => {
    const at = new Date('2024-05-06T07:08:09.010Z');
    const [row] = await sql.query('SELECT $1 AS yes, $2 AS no, $3 AS at, $4 AS json, $5 AS missing', [
      true,
      false,
      at,
      { a: [1] },
      undefined,
    ]);
    expect(row).toEqual({ yes: 1, no: 0, at: '2024-05-06T07:08:09.010Z', json: '{"a":[1]}', missing: null });
  });

  it('executes statements, returns changed rows, and runs multi-statement scripts', async () => {
    await sql.execute('CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER); CREATE INDEX t_v ON t (v)');
    expect(await sql.execute('INSERT INTO t (k, v) VALUES ($1, $2), ($3, $2)', ['x', 1, 'y'])).toBe(2);
    expect(await sql.execute('UPDATE t SET v = v + $1 WHERE v = $1', [1])).toBe(2);
    expect(await sql.query('SELECT k, v FROM t ORDER BY k')).toEqual([
      { k: 'x', v: 2 },
      { k: 'y', v: 2 },
    ]);
    expect(await sql.query('INSERT INTO t (k, v) VALUES ($1, $2) RETURNING k', ['z', 3])).toEqual([{ k: 'z' }]);
  });

  it('says which placeholder has no value', async () => {
    await expect(sql.query('SELECT $1, $3', [1, 2])).rejects.toThrow('$3');
  });

  it('inside a store transaction, commits and rolls back with the appends', async () => {
    const store = createSqliteEventStore({ file: files.next() });
    await store.transaction(async (tx) => {
      await tx.sql.execute('CREATE TABLE totals (id TEXT PRIMARY KEY, n INTEGER NOT NULL)');
    });
    await expect(
      store.transaction(async (tx) => {
        await tx.appendToStream('order-1', [{ type: 'order.placed', data: {} }]);
        await tx.sql.execute('INSERT INTO totals (id, n) VALUES ($1, $2)', ['order-1', 1]);
        tx.db.prepare('INSERT INTO totals (id, n) VALUES (?, ?)').run('order-2', 2);
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    await store.transaction(async (tx) => {
      expect(await tx.sql.query('SELECT count(*) AS n FROM totals')).toEqual([{ n: 0 }]);
    });
    expect(await store.headPosition()).toBe(0n);
    await store.close();
  });
});
