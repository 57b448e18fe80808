import type { DomainEvent, Evolver } from '@tidemark/core';
import { serviceAvailable, serviceUrls } from '@tidemark/testing';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import type { PostgresEventStore } from '../src/index.js';
import { createStoreFactory } from './testSchemas.js';

const available = await serviceAvailable('postgres');

type Added = DomainEvent<'counter.added', { amount: number }>;
const counter: Evolver<Added, number> = {
  initialState: () => 0,
  evolve: (state, event) => state + event.data.amount,
};

/** What each pooled connection was asked to run, in order: a statement's text, or the class of a Submittable. */
function recordedPool(options: pg.PoolConfig = {}) {
  const pool = new pg.Pool({ connectionString: serviceUrls.postgres, max: 1, ...options });
  const sent: string[] = [];
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (config: unknown, ...rest: unknown[]) => {
      const text = typeof config === 'string' ? config : (config as { text?: unknown }).text;
      const kind = (config as object)?.constructor?.name;
      sent.push(kind && kind !== 'String' && kind !== 'Object' ? `${kind}: ${String(text)}` : String(text));
      return query(config, ...rest);
    };
  });
  return { pool, sent };
}

/**
 * A transaction's BEGIN travels with its first statement (transactionOpeningQuery.ts): one round
 * trip less per transaction, and none at all for a transaction that sends nothing. What the
 * transaction means must not change: READ COMMITTED whatever the session's default, SET LOCAL for
 * a relaxed one, every statement inside it, and the connection clean for the next one.
 */
describe.skipIf(!available)('PostgreSQL: the transaction opens with its first statement', () => {
  const stores = createStoreFactory();
  const pools: pg.Pool[] = [];
  afterAll(async () => {
    await stores.cleanup();
    await Promise.all(pools.map((pool) => pool.end()));
  });

  async function storeOn(options: pg.PoolConfig = {}): Promise<{ store: PostgresEventStore; sent: string[]; pool: pg.Pool }> {
    const { pool, sent } = recordedPool(options);
    pools.push(pool);
    const store = await stores.create({ pool });
    // What opening the store sent is not the transaction's.
    sent.length = 0;
    return { store, sent, pool };
  }

  it('sends BEGIN with the first statement, not on its own, and keeps READ COMMITTED under a serializable default', async () => {
    const { store, sent } = await storeOn({ options: '-c default_transaction_isolation=serializable' });
    const isolation = await store.transaction(async (tx) => {
      const [first] = await tx.sql.query<{ level: string }>('SELECT current_setting($1) AS level', ['transaction_isolation']);
      const [second] = await tx.sql.query<{ level: string }>('SELECT current_setting($1) AS level', ['transaction_isolation']);
      return [first?.level, second?.level];
    });
    expect(isolation).toEqual(['read committed', 'read committed']);
    expect(sent).toEqual(['TransactionOpeningQuery: SELECT current_setting($1) AS level', 'SELECT current_setting($1) AS level', 'COMMIT']);
  });

  it('sends nothing for a transaction that runs no statement, and still runs its afterCommit callbacks', async () => {
    const { store, sent } = await storeOn();
    let committed = false;
    const result = await store.transaction(async (tx) => {
      tx.afterCommit(() => {
        committed = true;
      });
      return 'done';
    });
    expect(result).toBe('done');
    expect(committed).toBe(true);
    expect(sent).toEqual([]);
    // A failing one has nothing to roll back either.
    await expect(
      store.transaction(async () => {
        throw new Error('changed its mind');
      }),
    ).rejects.toThrow('changed its mind');
    expect(sent).toEqual([]);
  });

  it('opens a relaxed transaction with SET LOCAL, whether its first statement has parameters or not', async () => {
    const { store } = await storeOn();
    const simple = await store.transaction(
      async (tx) => (await tx.client.query("SELECT current_setting('synchronous_commit') AS value")).rows[0]?.value,
      { durability: 'relaxed' },
    );
    const extended = await store.transaction(
      async (tx) => (await tx.sql.query<{ value: string }>('SELECT current_setting($1) AS value', ['synchronous_commit']))[0]?.value,
      { durability: 'relaxed' },
    );
    expect([simple, extended]).toEqual(['off', 'off']);
    // And the connection goes back to the pool as it came.
    const after = await store.transaction(
      async (tx) => (await tx.sql.query<{ value: string }>('SELECT current_setting($1) AS value', ['synchronous_commit']))[0]?.value,
    );
    expect(after).toBe('on');
  });

  it('rolls back every statement of a transaction whose first statement held several (the simple protocol)', async () => {
    const { store, pool } = await storeOn();
    await pool.query('CREATE TABLE IF NOT EXISTS tm_opening_probe (n int)');
    try {
      await expect(
        store.transaction(async (tx) => {
          await tx.client.query('INSERT INTO tm_opening_probe VALUES (1); INSERT INTO tm_opening_probe VALUES (2)');
          throw new Error('undo both');
        }),
      ).rejects.toThrow('undo both');
      expect((await pool.query('SELECT count(*)::int AS n FROM tm_opening_probe')).rows[0].n).toBe(0);
    } finally {
      await pool.query('DROP TABLE tm_opening_probe');
    }
  });

  it('keeps track of named statements through the opening: prepared once, and forgotten when their Parse failed', async () => {
    const { store, pool } = await storeOn();
    const named = { name: 'tm_opening_named', text: 'SELECT $1::int + 1 AS n' };
    for (const value of [1, 2]) {
      const n = await store.transaction(async (tx) => (await tx.client.query({ ...named, values: [value] })).rows[0]?.n);
      expect(n).toBe(value + 1);
    }
    const prepared = await pool.query(`SELECT count(*)::int AS n FROM pg_prepared_statements WHERE name = 'tm_opening_named'`);
    expect(prepared.rows[0].n).toBe(1);
    // A Parse the server refuses leaves no name behind: the next statement of that name is parsed anew.
    const broken = { name: 'tm_opening_broken', text: 'SELEC $1::int' };
    await expect(store.transaction((tx) => tx.client.query({ ...broken, values: [1] }))).rejects.toThrow(/syntax error/);
    const fixed = await store.transaction(
      async (tx) => (await tx.client.query({ name: 'tm_opening_broken', text: 'SELECT $1::int AS n', values: [7] })).rows[0]?.n,
    );
    expect(fixed).toBe(7);
  });

  it('rolls back cleanly when pg cannot even bind the first statement, and the connection serves the next', async () => {
    const { store, pool } = await storeOn();
    const unbindable = {
      toPostgres() {
        throw new Error('cannot serialise this');
      },
    };
    await expect(store.transaction((tx) => tx.sql.query('SELECT $1::text', [unbindable]))).rejects.toThrow('cannot serialise this');
    // The one connection is idle, outside any transaction, and the next transaction commits.
    const state = await pool.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE state LIKE 'idle in transaction%'
      AND datname = current_database() AND pid <> pg_backend_pid() AND application_name = ''`);
    expect(state.rows[0].n).toBe(0);
    await store.transaction((tx) => tx.appendToStream('opening-counter', [{ type: 'counter.added', data: { amount: 2 } }]));
    expect((await store.readStream('opening-counter')).length).toBe(1);
  });

  it('answers a first statement whose rows pg cannot parse with that failure, once', async () => {
    const { store } = await storeOn();
    const throwingParser = () => () => {
      throw new Error('unparseable row');
    };
    const types = { getTypeParser: throwingParser } as unknown as pg.CustomTypesConfig;
    await expect(store.transaction((tx) => tx.client.query({ text: 'SELECT $1::int AS n', values: [1], types }))).rejects.toThrow(
      'unparseable row',
    );
    expect(await store.transaction(async (tx) => (await tx.sql.query<{ n: number }>('SELECT $1::int AS n', [5]))[0]?.n)).toBe(5);
  });

  it('opens before a Submittable handed to tx.client as the first statement (as pg-cursor is)', async () => {
    const { store } = await storeOn({ options: '-c default_transaction_isolation=serializable' });
    const level = await store.transaction(
      (tx) =>
        new Promise<unknown>((resolve, reject) => {
          const query = new pg.Query('SELECT current_setting($1) AS level', ['transaction_isolation'], (error, result) =>
            error ? reject(error) : resolve(result.rows[0]?.level),
          );
          tx.client.query(query);
        }),
    );
    expect(level).toBe('read committed');
  });

  it('opens before a first statement that is a Submittable: the fold inside a transaction', async () => {
    const { store } = await storeOn();
    await store.appendToStream('opening-fold', [
      { type: 'counter.added', data: { amount: 3 } },
      { type: 'counter.added', data: { amount: 4 } },
    ]);
    const total = await store.transaction(async (tx) => {
      const folded = await tx.aggregateStream('opening-fold', counter);
      const [level] = await tx.sql.query<{ level: string }>('SELECT current_setting($1) AS level', ['transaction_isolation']);
      return { state: folded.state, level: level?.level };
    });
    expect(total).toEqual({ state: 7, level: 'read committed' });
  });
});
