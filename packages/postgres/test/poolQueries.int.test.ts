import { ValidationError } from '@tidemark/core';
import { serviceAvailable, serviceUrls } from '@tidemark/testing';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createStoreFactory } from './testSchemas.js';

const available = await serviceAvailable('postgres');

describe.skipIf(!available)('store.queries on PostgreSQL: one read statement, nothing left on the connection', () => {
  const stores = createStoreFactory();
  afterAll(() => stores.cleanup());

  it('refuses a statement that opens a transaction, and the appends after it really commit', async () => {
    // One connection: whatever the refused statement did to it, the appends below use it next.
    const store = await stores.create({ poolSize: 1 });
    for (const sql of ['BEGIN', 'START TRANSACTION READ ONLY', 'begin isolation level serializable']) {
      await expect(store.queries.query(sql), sql).rejects.toThrow(ValidationError);
    }
    for (let i = 0; i < 5; i++) await store.appendToStream(`order-${i}`, [{ type: 'order.placed', data: { i } }]);
    // Seen from another connection: committed, not held in a transaction on the pooled one.
    const other = new pg.Client({ connectionString: serviceUrls.postgres });
    await other.connect();
    try {
      const { rows } = await other.query(`SELECT count(*)::int AS n FROM "${store.schema}".events`);
      expect(rows[0].n).toBe(5);
    } finally {
      await other.end();
    }
  });

  it('runs one statement with or without parameters, and refuses a script of several', async () => {
    const store = await stores.create({ poolSize: 1 });
    expect(await store.queries.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    expect(await store.queries.query('SELECT $1::int + 1 AS n', [41])).toEqual([{ n: 42 }]);
    await expect(store.queries.query('SELECT 1; BEGIN')).rejects.toThrow(/multiple commands/);
    expect(await store.queries.query("SELECT current_setting('transaction_isolation') AS level")).toHaveLength(1);
  });

  it('leaves nothing of a query on its connection: no setting, role, prepared statement or transaction', async () => {
    // One connection: the appends, reads and SHOWs below all use the one the queries ran on.
    const store = await stores.create({ poolSize: 1 });
    const session = async () =>
      (
        await store.pool.query(
          `SELECT current_setting('search_path') AS search_path, current_setting('statement_timeout') AS statement_timeout,
             current_user AS role, now() = statement_timestamp() AS fresh,
             EXISTS (SELECT FROM pg_prepared_statements WHERE name = 'leaked') AS leaked`,
        )
      ).rows[0];
    const before = await session();
    expect(before).toMatchObject({ fresh: true, leaked: false });
    // Settings changed by a function in a read: allowed, and undone with the query.
    for (const [name, value] of [
      ['search_path', 'nowhere'],
      ['statement_timeout', '1ms'],
      ['role', 'pg_monitor'],
    ]) {
      expect(await store.queries.query('SELECT set_config($1, $2, false) AS value', [name, value])).toEqual([{ value }]);
    }
    // Statements that change the session or end the transaction: refused.
    for (const sql of [
      'SET search_path = nowhere',
      'SET ROLE pg_monitor',
      'SET statement_timeout = 1',
      'SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE',
      'RESET ALL',
      'BEGIN',
      'COMMIT',
      'ROLLBACK',
      'PREPARE leaked AS SELECT 1',
    ]) {
      await expect(store.queries.query(sql), sql).rejects.toThrow(ValidationError);
    }
    // A write: refused by the READ ONLY transaction, reported as on SQLite.
    await expect(store.queries.query(`DELETE FROM "${store.schema}".events`)).rejects.toThrow(/read-only statement/);
    // A script that would COMMIT the wrapping transaction and SET after it never runs.
    await expect(store.queries.query('SELECT 1; COMMIT; SET search_path = nowhere')).rejects.toThrow(/multiple commands/);

    expect(await session()).toEqual(before);
    await store.appendToStream('order-1', [{ type: 'order.placed', data: {} }]);
    expect((await store.readStream('order-1')).map((event) => event.type)).toEqual(['order.placed']);
    expect(await store.queries.query(`SELECT count(*)::int AS n FROM "${store.schema}".events`)).toEqual([{ n: 1 }]);
    expect(await session()).toEqual(before);
  });
});
