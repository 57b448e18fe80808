import { createProjector, type Projection } from '@tidemark/core';
import { serviceAvailable, serviceUrls, waitFor } from '@tidemark/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { createPostgresCheckpointStore, createPostgresLease, type PostgresTransaction } from '../src/index.js';
import { createStoreFactory } from './testSchemas.js';

const available = await serviceAvailable('postgres');

describe.skipIf(!available)('PostgreSQL projector: the checkpoint past skipped events', () => {
  const stores = createStoreFactory();
  afterAll(() => stores.cleanup());

  it('is written once the interval is up, though no further event arrives, by the lease holder in a fenced transaction', async () => {
    const store = await stores.create();
    const table = `"${store.schema}".deposits`;
    const projection: Projection<PostgresTransaction> = {
      name: 'deposits',
      types: ['account.deposited'],
      async setup(tx) {
        await tx.sql.execute(`CREATE TABLE IF NOT EXISTS ${table} (id text PRIMARY KEY)`);
      },
      async apply(events, tx) {
        for (const event of events) await tx.sql.execute(`INSERT INTO ${table} (id) VALUES ($1)`, [event.id]);
      },
    };
    const lease = createPostgresLease({ url: serviceUrls.postgres, schema: store.schema, name: 'deposits', ttlMs: 5000 });
    const projector = createProjector({
      store,
      projection,
      checkpoints: createPostgresCheckpointStore(),
      lease,
      pollIntervalMs: 60_000,
      skipCheckpointIntervalMs: 300,
    });
    // Read on a pool connection of its own, as `tidemark projections status` would.
    const stored = async () => {
      const { rows } = await store.pool.query<{ position: string }>(
        `SELECT position FROM "${store.schema}".tidemark_checkpoints WHERE name = 'deposits'`,
      );
      return BigInt(rows[0]?.position ?? 0);
    };
    await projector.start();
    try {
      const wanted = (await store.appendToStream('account-1', [{ type: 'account.deposited', data: {} }])).position;
      expect(await projector.waitForPosition(wanted, { timeoutMs: 10_000 })).toBe(true);
      expect(await stored()).toBe(wanted);
      let last = 0n;
      for (let i = 0; i < 3; i++) last = (await store.appendToStream(`order-${i}`, [{ type: 'order.placed', data: {} }])).position;
      expect(await projector.waitForPosition(last, { timeoutMs: 10_000 })).toBe(true);
      await waitFor(async () => (await stored()) === last, 'the skipped move to be written', 5000);
      expect(projector.status()).toMatchObject({ state: 'running', checkpoint: last, eventsProcessed: 1 });
    } finally {
      await projector.stop();
    }
  });
});
