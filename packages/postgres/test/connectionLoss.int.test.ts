import { CommitOutcomeUnknownError, ConnectionLostError } from '@tidemark/core';
import { serviceAvailable, serviceUrls, waitFor } from '@tidemark/testing';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { PostgresTransaction } from '../src/index.js';
import { createStoreFactory } from './testSchemas.js';

const available = await serviceAvailable('postgres');

describe.skipIf(!available)('PostgreSQL: a lost connection fails the operation, never the process (issue 7 §2)', () => {
  const stores = createStoreFactory();
  const admin = new pg.Pool({ connectionString: serviceUrls.postgres, max: 1 });
  afterEach(() => stores.cleanup());
  afterAll(() => admin.end());

  /** Ends the session of this transaction (only that pid: the server is shared). */
  const terminate = async (tx: PostgresTransaction) => {
    const [row] = await tx.sql.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    await admin.query('SELECT pg_terminate_backend($1)', [row?.pid]);
  };

  it('a session terminated inside store.transaction: ConnectionLostError, afterRollback, nothing written, the store goes on', async () => {
    const store = await stores.create();
    const calls: string[] = [];
    const error = await store
      .transaction(async (tx) => {
        tx.afterCommit(() => calls.push('commit'));
        tx.afterRollback(() => calls.push('rollback'));
        await tx.appendToStream('order-1', [{ type: 'order.placed', data: {} }]);
        await terminate(tx);
        await tx.sql.query('SELECT 1');
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionLostError);
    expect(error).toMatchObject({ code: 'connection_lost' });
    expect(calls).toEqual(['rollback']);
    expect(await store.streamExists('order-1')).toBe(false);
    const after = await store.appendToStream('order-1', [{ type: 'order.placed', data: {} }]);
    expect(after.nextExpectedVersion).toBe(1);
  });

  it('a work that swallows the failure still gets ConnectionLostError: nothing committed', async () => {
    const store = await stores.create();
    const error = await store
      .transaction(async (tx) => {
        await tx.appendToStream('order-1', [{ type: 'order.placed', data: {} }]);
        await terminate(tx);
        await tx.sql.query('SELECT 1').catch(() => undefined);
        return 'looks fine';
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionLostError);
    expect(await store.streamExists('order-1')).toBe(false);
  });

  it('with { retry } the whole work runs again on a fresh connection and commits once', async () => {
    const store = await stores.create();
    let attempts = 0;
    await store.transaction(
      async (tx) => {
        attempts++;
        const { version } = await tx.aggregateStream('order-1', { initialState: () => 0, evolve: (n: number) => n + 1 });
        await tx.appendToStream('order-1', [{ type: 'order.placed', data: { attempts } }], { expectedVersion: version });
        if (attempts === 1) {
          await terminate(tx);
          // Noticed before COMMIT is sent (a COMMIT racing the termination has an unknown outcome).
          await tx.sql.query('SELECT 1');
        }
      },
      { retry: true },
    );
    expect(attempts).toBe(2);
    expect((await store.readStream('order-1')).map((e) => e.data)).toEqual([{ attempts: 2 }]);
  });

  it('a connection lost while COMMIT is in flight: CommitOutcomeUnknownError, neither afterCommit nor afterRollback', async () => {
    const store = await stores.create();
    const s = `"${store.schema}"`;
    // A deferred constraint trigger runs during COMMIT: it holds COMMIT open until the session is ended.
    await store.transaction(async (tx) => {
      await tx.sql.execute(`CREATE TABLE ${s}.slow_commit (id int)`);
      await tx.sql.execute(`CREATE FUNCTION ${s}.slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_sleep(10); RETURN NULL; END $$`);
      await tx.sql.execute(`CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON ${s}.slow_commit
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ${s}.slow_commit()`);
    });
    const calls: string[] = [];
    let pid = 0;
    const outcome = store
      .transaction(async (tx) => {
        pid = (await tx.sql.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'))[0]?.pid ?? 0;
        tx.afterCommit(() => calls.push('commit'));
        tx.afterRollback(() => calls.push('rollback'));
        await tx.appendToStream('order-1', [{ type: 'order.placed', data: {} }]);
        await tx.sql.execute(`INSERT INTO ${s}.slow_commit VALUES (1)`);
      })
      .catch((e: unknown) => e);
    await waitFor(async () => {
      const { rows } = await admin.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND query = 'COMMIT' AND state = 'active'", [pid]);
      return rows.length === 1;
    }, 'COMMIT in flight');
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    const error = await outcome;
    expect(error).toBeInstanceOf(CommitOutcomeUnknownError);
    expect(error).toMatchObject({ code: 'commit_outcome_unknown' });
    expect(calls).toEqual([]);
  });

  it('gives the pools it creates connect and query timeouts and TCP keepalive by default, and takes other values', async () => {
    const store = await stores.create();
    expect(store.pool.options).toMatchObject({
      connectionTimeoutMillis: 10_000,
      stallTimeoutMillis: 60_000,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    });
    const tuned = await stores.create({ connectionTimeoutMs: 1000, queryTimeoutMs: 0, keepAliveInitialDelayMs: 500 });
    expect(tuned.pool.options).toMatchObject({ connectionTimeoutMillis: 1000, stallTimeoutMillis: 0, keepAliveInitialDelayMillis: 500 });
    expect(store.pool.options).not.toHaveProperty('query_timeout');
  });

  it('a query that outlives queryTimeoutMs fails with ConnectionLostError and its connection is discarded', async () => {
    const store = await stores.create({ queryTimeoutMs: 300 });
    const error = await store.transaction((tx) => tx.sql.query('SELECT pg_sleep(3)')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionLostError);
    expect((await store.appendToStream('order-1', [{ type: 'order.placed', data: {} }])).nextExpectedVersion).toBe(1);
  });

  it('an idle connection outliving queryTimeoutMs is kept: only a statement waiting on a silent server is cut', async () => {
    const store = await stores.create({ queryTimeoutMs: 200, poolSize: 1 });
    const pid = async () => (await store.queries.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'))[0]?.pid;
    const first = await pid();
    const woken: number[] = [];
    const unsubscribe = store.onAppended(() => woken.push(1));
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(await pid()).toBe(first);
    // The LISTEN connection idled as long and still delivers another process's commit.
    const other = await stores.create({ schema: store.schema, createSchema: false });
    await other.appendToStream('order-2', [{ type: 'order.placed', data: {} }]);
    await waitFor(() => woken.length > 0, 'a wake-up through NOTIFY');
    unsubscribe();
    expect(await pid()).toBe(first);
  });
});
