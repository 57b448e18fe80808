import { randomBytes } from 'node:crypto';
import type { SqlTransaction, StoreTransaction, TableSwap } from '@tidemark/core';
import { createPostgresCheckpointStore, createPostgresEventStore, createPostgresTableSwap } from '@tidemark/postgres';
import { serviceAvailable, serviceUrls } from '@tidemark/testing';
import pg from 'pg';
import { describe, it } from 'vitest';
import { readModelScenario } from './readModelScenario.js';

type SqlTx = StoreTransaction & SqlTransaction;

const available = await serviceAvailable('postgres');

describe.skipIf(!available)('shop read models on PostgreSQL', () => {
  it('builds the order list, daily analytics and balances from the same events; rebuilds and swaps; reads its writes', async () => {
    const schema = `rm_${randomBytes(5).toString('hex')}`;
    // Read-model and checkpoint tables are unqualified: the pool's search_path puts them in this run's schema.
    const pool = new pg.Pool({ connectionString: serviceUrls.postgres, max: 6, options: `-c search_path=${schema}` });
    const store = await createPostgresEventStore({ pool, schema, pollIntervalMs: 200, createSchema: true });
    try {
      await readModelScenario(store, createPostgresCheckpointStore(), createPostgresTableSwap() as TableSwap<SqlTx>, 11, 20);
    } finally {
      await store.close();
      await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await pool.end();
    }
  }, 120_000);
});
