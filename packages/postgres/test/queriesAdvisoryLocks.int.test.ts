import { randomInt } from 'node:crypto';
import { serviceAvailable, serviceUrls } from '@tidemark/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStoreFactory } from './testSchemas.js';

const available = await serviceAvailable('postgres');

/**
 * A session-level advisory lock is allowed in a READ ONLY transaction and ROLLBACK does not
 * release it: taken through store.queries, it would stay on the pooled connection for the life
 * of the connection, blocking whoever else waits on the key.
 */
describe.skipIf(!available)('store.queries on PostgreSQL: no advisory lock outlives the query', () => {
  const stores = createStoreFactory();
  let admin: pg.Client;
  beforeAll(async () => {
    admin = new pg.Client({ connectionString: serviceUrls.postgres });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
    await stores.cleanup();
  });

  /** Whether another session may take `key` exclusively now (then lets it go again). */
  const free = async (key: number) => {
    const { rows } = await admin.query<{ free: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS free', [key]);
    if (rows[0]?.free) await admin.query('SELECT pg_advisory_unlock($1::bigint)', [key]);
    return rows[0]?.free;
  };

  /** The store's one pooled connection and the advisory locks its backend holds. */
  const heldBy = async (store: Awaited<ReturnType<typeof stores.create>>) => {
    const pid = (await store.pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
    const { rows } = await admin.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND pid = $1", [
      pid,
    ]);
    return rows[0]?.n;
  };

  it('releases the session locks a query took, exclusive or shared, waited for or tried', async () => {
    // One connection: the check below sees the very session the queries ran on.
    const store = await stores.create({ poolSize: 1 });
    const key = randomInt(1, 2 ** 31);
    for (const sql of [
      'SELECT pg_advisory_lock($1::bigint)',
      'SELECT pg_try_advisory_lock($1::bigint) AS locked',
      'SELECT pg_advisory_lock_shared($1::bigint)',
      'SELECT pg_try_advisory_lock_shared($1::bigint) AS locked',
      // Twice: a session lock is counted, and one unlock would leave the other.
      'SELECT pg_advisory_lock($1::bigint), pg_advisory_lock($1::bigint)',
    ]) {
      await store.queries.query(sql, [key]);
      expect(await free(key), sql).toBe(true);
      expect(await heldBy(store), sql).toBe(0);
    }
    // Without parameters too, and the two-key form.
    await store.queries.query(`SELECT pg_advisory_lock(${key}), pg_advisory_lock(7, ${key % 1000})`);
    expect(await free(key)).toBe(true);
    expect(await heldBy(store)).toBe(0);
  });

  it('releases them when the statement that took them fails', async () => {
    const store = await stores.create({ poolSize: 1 });
    const key = randomInt(1, 2 ** 31);
    // Divided by zero as it runs, after the lock (a constant 1 / 0 fails when planned, before it).
    await expect(store.queries.query('SELECT pg_advisory_lock($1::bigint), 1 / floor(random() * 0)::int', [key])).rejects.toThrow(
      /division by zero/,
    );
    expect(await free(key)).toBe(true);
    expect(await heldBy(store)).toBe(0);
  });

  it('a transaction-level lock ends with the rollback', async () => {
    const store = await stores.create({ poolSize: 1 });
    const key = randomInt(1, 2 ** 31);
    await store.queries.query('SELECT pg_advisory_xact_lock($1::bigint), pg_advisory_xact_lock_shared($1::bigint)', [key]);
    expect(await free(key)).toBe(true);
    expect(await heldBy(store)).toBe(0);
  });
});
