import { createProjector, type Projection, type RetryInfo } from '@tidemark/core';
import { serviceAvailable, serviceUrls, waitFor } from '@tidemark/testing';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createPostgresCheckpointStore, createPostgresEventStore, type PostgresTransaction } from '../src/index.js';
import { dropSchemas, randomSchemaName } from './testSchemas.js';

const available = await serviceAvailable('postgres');

const balances: Projection<PostgresTransaction> = {
  name: 'balances',
  categories: ['account'],
  async setup(tx) {
    await tx.sql.execute('CREATE TABLE IF NOT EXISTS balances (id TEXT PRIMARY KEY, balance BIGINT NOT NULL)');
  },
  async apply(events, tx) {
    for (const event of events) {
      await tx.sql.execute(
        `INSERT INTO balances (id, balance) VALUES ($1, $2)
         ON CONFLICT (id) DO UPDATE SET balance = balances.balance + excluded.balance`,
        [event.streamId, (event.data as { amount: number }).amount],
      );
    }
  },
};

describe.skipIf(!available)('PostgreSQL projector under lock timeouts', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('retries a lock timeout on its read-model table instead of dead-lettering a good event', async () => {
    const schema = randomSchemaName();
    cleanups.push(() => dropSchemas([schema]));
    // What an operator sets so that a projector never queues for long behind DDL.
    const pool = new pg.Pool({ connectionString: serviceUrls.postgres, max: 4, options: `-c search_path=${schema} -c lock_timeout=100` });
    pool.on('error', () => {});
    cleanups.push(() => pool.end());
    const store = await createPostgresEventStore({ pool, schema, createSchema: true });
    cleanups.push(() => store.close());
    const checkpoints = createPostgresCheckpointStore();
    const retries: RetryInfo[] = [];
    const projector = createProjector({
      store,
      projection: balances,
      checkpoints,
      onFailure: 'dead-letter',
      retry: { maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 100 },
      pollIntervalMs: 50,
      onRetry: (info) => retries.push(info),
    });
    await projector.start();
    cleanups.push(() => projector.stop());

    let expected = 0;
    let position = 0n;
    const append = async (count: number) => {
      for (let i = 1; i <= count; i++) {
        expected += i;
        position = (await store.appendToStream(`account-${i % 3}`, [{ type: 'account.deposited', data: { amount: i } }])).position;
      }
    };
    await append(10);
    expect(await projector.waitForPosition(position, { timeoutMs: 30_000 })).toBe(true);

    // CREATE INDEX takes a SHARE lock: the projector's UPDATEs time out while it is held.
    const blocker = new pg.Client({ connectionString: serviceUrls.postgres, application_name: 'tm-test-share-lock' });
    await blocker.connect();
    cleanups.push(() => blocker.end());
    await blocker.query('BEGIN');
    await blocker.query(`LOCK TABLE "${schema}".balances IN SHARE MODE`);
    try {
      await append(7);
      // Held until the projector has hit the lock several times — or, as before the fix, parked the event.
      await waitFor(() => retries.length >= 4 || projector.status().eventsParked > 0, 'lock timeouts in the projector', 30_000);
      expect(projector.status().state).toBe('retrying');
      expect(projector.status().lastError).toMatch(/lock timeout/);
    } finally {
      await blocker.query('ROLLBACK');
    }
    expect(await projector.waitForPosition(position, { timeoutMs: 30_000 })).toBe(true);
    expect(projector.status()).toMatchObject({ state: 'running', eventsParked: 0 });
    expect(await store.transaction((tx) => checkpoints.deadLetters('balances', tx))).toEqual([]);
    const sum = await pool.query<{ total: string }>('SELECT sum(balance) AS total FROM balances');
    expect(Number(sum.rows[0]?.total)).toBe(expected);
  });
});
