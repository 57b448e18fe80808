import { randomBytes } from 'node:crypto';
import { checkpointStoreContract, serviceAvailable, serviceUrls } from '@tidemark/testing';
import pg from 'pg';
import { afterAll, describe } from 'vitest';
import { createPostgresCheckpointStore, createPostgresEventStore } from '../src/index.js';

const available = await serviceAvailable('postgres');

describe.skipIf(!available)('postgres checkpoint store', () => {
  const schemas: string[] = [];
  const pools: pg.Pool[] = [];
  afterAll(async () => {
    const admin = new pg.Pool({ connectionString: serviceUrls.postgres, max: 1 });
    for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
    for (const pool of pools) await pool.end();
  });
  checkpointStoreContract('postgres', {
    async create() {
      const schema = `cp_${randomBytes(5).toString('hex')}`;
      schemas.push(schema);
      // The checkpoint tables are unqualified: this pool's search_path puts them in the run's schema.
      const pool = new pg.Pool({ connectionString: serviceUrls.postgres, max: 3, options: `-c search_path=${schema}` });
      pools.push(pool);
      return { store: await createPostgresEventStore({ pool, schema }), checkpoints: createPostgresCheckpointStore() };
    },
  });
});
