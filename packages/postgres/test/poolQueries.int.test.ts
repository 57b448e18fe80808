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

  it('gives the rows pg gives for the same statement and values: types, NULLs, arrays, JSON, repeated names', async () => {
    const store = await stores.create({ poolSize: 1 });
    const sql = `SELECT $1::int8 AS big, $2::numeric AS exact, $3::timestamptz AS at, $4::bytea AS raw, $5::int[] AS list,
      $6::jsonb AS doc, $7::text AS missing, $8::text AS text, 1 AS dup, 2 AS dup, $9::date AS day, ''::text AS empty`;
    const values = [
      '9007199254740993',
      '12.50',
      new Date('2026-12-01T10:00:00.123Z'),
      Buffer.from([0, 1, 254, 255]),
      [1, null, 3],
      { a: [1, 'two'], 'b\u00e9': null },
      null,
      'caf\u00e9 \u{1f600} "quoted" \\ back',
      '2026-02-28',
    ];
    const expected = (await store.pool.query(sql, values)).rows;
    expect(await store.queries.query(sql, values)).toEqual(expected);
    // No rows, and a statement that returns none.
    expect(await store.queries.query('SELECT 1 AS n WHERE false')).toEqual([]);
    expect(await store.queries.query('')).toEqual([]);
  });

  it('takes one round trip, and a failed statement leaves its connection clean and in the pool', async () => {
    const store = await stores.create({ poolSize: 1 });
    const pid = async () => (await store.pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
    const first = await pid();
    // The pool's one connection: count the server's ReadyForQuery messages, one per round trip.
    const client = await store.pool.connect();
    let roundTrips = 0;
    const connection = (client as unknown as { connection: { on(event: string, listener: () => void): void } }).connection;
    connection.on('readyForQuery', () => roundTrips++);
    client.release();

    expect(await store.queries.query('SELECT $1::int AS n', [7])).toEqual([{ n: 7 }]);
    expect(roundTrips).toBe(1);

    // Failures inside the batch: the statement's own, a lock taken before it fails, a bad cast.
    await expect(store.queries.query('SELECT 1 / 0 AS n')).rejects.toThrow(/division by zero/);
    await expect(store.queries.query('SELECT pg_advisory_lock(42), 1 / 0 AS n')).rejects.toThrow(/division by zero/);
    await expect(store.queries.query('SELECT $1::int AS n', ['not a number'])).rejects.toThrow(/invalid input syntax/);
    // A NUL PostgreSQL text cannot hold: bad input, typed as such.
    await expect(store.queries.query('SELECT $1::text AS v', ['a\u0000b'])).rejects.toThrow(ValidationError);
    expect(await pid()).toBe(first);
    const state = (
      await store.pool.query(
        `SELECT (SELECT count(*)::int FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()) AS locks,
           now() = statement_timestamp() AS fresh`,
      )
    ).rows[0];
    expect(state).toEqual({ locks: 0, fresh: true });
    await store.appendToStream('order-1', [{ type: 'order.placed', data: {} }]);
    expect(await store.queries.query(`SELECT count(*)::int AS n FROM "${store.schema}".events`)).toEqual([{ n: 1 }]);
  });
});
