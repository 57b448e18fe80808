import { randomBytes } from 'node:crypto';
import { leaseContract, serviceAvailable, serviceUrls } from '@tidemark/testing';
import { describe } from 'vitest';
import { createPostgresLease, type PostgresEventStore, type PostgresTransaction } from '../src/index.js';
import { createStoreFactory } from './testSchemas.js';

const available = await serviceAvailable('postgres');

describe.skipIf(!available)('PostgreSQL lease (needs the server)', () => {
  const stores = createStoreFactory();
  let store: PostgresEventStore | undefined;
  leaseContract<PostgresTransaction>('PostgreSQL lease row', {
    fencing: true,
    async create() {
      // The store's migrations create the lease table; one schema serves every case, a name each.
      store ??= await stores.create();
      const current = store;
      const name = `balances_${randomBytes(4).toString('hex')}`;
      return {
        contender: () => createPostgresLease({ url: serviceUrls.postgres, schema: current.schema, name, ttlMs: 60_000 }),
        async expire() {
          // The deadline passes (the server's clock is the only one a lease reads).
          await current.pool.query(
            `UPDATE "${current.schema}".tidemark_leases SET expires_at = clock_timestamp() - interval '1 second' WHERE name = $1`,
            [name],
          );
        },
        transaction: (work) => current.transaction(work),
      };
    },
    teardown: () => stores.cleanup(),
  });
});
