import { ConnectionLostError } from '@tidemark/core';
import { serviceAvailable, serviceUrls } from '@tidemark/testing';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createPostgresEventStore } from '../src/index.js';
import { createStoreFactory } from './testSchemas.js';

const available = await serviceAvailable('postgres');

/**
 * A pool whose `killAt`-th pool.query is replaced by a statement that terminates its own
 * session: the server answers it with FATAL 57P01, exactly what a session killed by an
 * administrator (or a failover) sends to the statement in flight.
 */
function poolKillingQuery(killAt: number): pg.Pool {
  const pool = new pg.Pool({ connectionString: serviceUrls.postgres, max: 2 });
  pool.on('error', () => {});
  const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown>;
  let calls = 0;
  Object.assign(pool, {
    query: (...args: unknown[]) => {
      calls++;
      return calls === killAt ? query('SELECT pg_terminate_backend(pg_backend_pid())') : query(...args);
    },
  });
  return pool;
}

describe.skipIf(!available)('PostgreSQL store losing its connection while it opens', () => {
  const stores = createStoreFactory();
  afterAll(() => stores.cleanup());

  // Opening a current store runs four pool queries: the version table's existence, the
  // version (migrate.ts), whether the positions need a rebase (rebasePositions.ts) and whether
  // the outbox's sequence lags its rows (advanceOutboxSequence.ts).
  it.each([1, 2, 3, 4])('fails with ConnectionLostError when the session dies under query %i', async (killAt) => {
    const { schema } = await stores.create({ poolSize: 1 });
    const pool = poolKillingQuery(killAt);
    try {
      const opening = createPostgresEventStore({ pool, schema });
      await expect(opening).rejects.toBeInstanceOf(ConnectionLostError);
      await expect(opening).rejects.toMatchObject({ cause: { code: '57P01' } });
      // The pool recovers: the next open goes through.
      const store = await createPostgresEventStore({ pool, schema });
      await store.close();
    } finally {
      await pool.end();
    }
  });
});
