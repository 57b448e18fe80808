import { ConnectionLostError, TransactionConflictError, ValidationError } from '@tidemark/core';
import { serviceAvailable, serviceUrls } from '@tidemark/testing';
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createPostgresCheckpointStore,
  createPostgresInbox,
  type PostgresEventStore,
  type PostgresTransaction,
  postgresConnectionDefaults,
  StallDetectingClient,
} from '../src/index.js';
import { createStoreFactory } from './testSchemas.js';

const available = await serviceAvailable('postgres');

/**
 * Statements pg was handed while another was executing (or waiting) on the same connection: pg 8
 * queues those with a DeprecationWarning (once per process, so a warning listener alone sees only
 * the first), pg 9 refuses them. Reads pg's own bookkeeping, the fields its warning is based on.
 */
let overlapping = 0;
class OverlapCountingClient extends StallDetectingClient {
  override query(...args: unknown[]): never {
    const state = this as unknown as { _activeQuery: unknown; _queryQueue: unknown[] };
    if (!Array.isArray(state._queryQueue)) throw new Error("pg's client internals changed: update OverlapCountingClient");
    if (state._activeQuery || state._queryQueue.length > 0) overlapping++;
    return super.query(...args);
  }
}

const warnings: string[] = [];
const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);

const ev = (n: number) => ({ type: 'thing.happened', data: { n } });

describe.skipIf(!available)('PostgreSQL: concurrent calls on one transaction are sent one at a time, in call order', () => {
  const stores = createStoreFactory();
  const pools: pg.Pool[] = [];
  beforeAll(() => {
    process.on('warning', onWarning);
  });
  afterEach(async () => {
    await stores.cleanup();
    await Promise.all(pools.splice(0).map((pool) => pool.end()));
    const seen = { warnings: warnings.splice(0), overlapping };
    overlapping = 0;
    expect(seen).toEqual({ warnings: [], overlapping: 0 });
  });
  afterAll(() => {
    process.off('warning', onWarning);
  });

  /** A store on a pool of counting clients, with a table `t` and a sequence `calls` that numbers statements as the server runs them. */
  async function open(): Promise<{ store: PostgresEventStore; table: string; calls: string }> {
    const pool = new pg.Pool({
      ...postgresConnectionDefaults,
      connectionString: serviceUrls.postgres,
      max: 4,
      Client: OverlapCountingClient,
    });
    pool.on('error', () => {});
    pools.push(pool);
    const store = await stores.create({ pool });
    const table = `"${store.schema}".t`;
    const calls = `"${store.schema}".calls`;
    await store.transaction(async (tx) => {
      await tx.sql.execute(`CREATE TABLE ${table} (n int PRIMARY KEY)`);
      await tx.sql.execute(`CREATE SEQUENCE ${calls}`);
    });
    return { store, table, calls };
  }

  // On the pool, not store.queries: nextval writes, and queries run in a READ ONLY transaction.
  const nextCall = async (store: PostgresEventStore, calls: string) =>
    Number((await store.pool.query<{ n: string }>(`SELECT nextval('${calls}') AS n`)).rows[0]?.n);

  const committedRows = async (store: PostgresEventStore, table: string) =>
    (await store.queries.query<{ n: number }>(`SELECT n FROM ${table} ORDER BY n`)).map((row) => row.n);

  it('gives every concurrent tx.sql.query and tx.client.query its own result, run in call order', async () => {
    const { store, calls } = await open();
    const results = await store.transaction((tx) =>
      Promise.all(
        Array.from({ length: 40 }, async (_, i) => {
          const text = `SELECT $1::int AS i, nextval('${calls}')::int AS ran`;
          if (i % 3 === 0) return (await tx.client.query<{ i: number; ran: number }>(text, [i])).rows[0];
          return (await tx.sql.query<{ i: number; ran: number }>(text, [i]))[0];
        }),
      ),
    );
    expect(results).toEqual(Array.from({ length: 40 }, (_, i) => ({ i, ran: i + 1 })));
  });

  it('commits a concurrent mix of appends, reads, SQL, inbox and checkpoint calls', async () => {
    const { store, table } = await open();
    const checkpoints = createPostgresCheckpointStore();
    const inbox = createPostgresInbox();
    await store.transaction((tx) => checkpoints.setup(tx));
    await store.appendToStream('order-1', [ev(0)]);
    const outcome = await store.transaction(async (tx) => {
      const [a, b, , read, exists, folded, fresh] = await Promise.all([
        tx.appendToStream('order-1', [ev(1)], { expectedVersion: 1 }),
        tx.appendToStream('order-2', [ev(2), ev(3)], { expectedVersion: 'no_stream' }),
        tx.sql.execute(`INSERT INTO ${table} (n) VALUES (1), (2)`),
        tx.readStream('order-1'),
        tx.streamExists('order-2'),
        tx.aggregateStream('order-1', { initialState: () => 0, evolve: (sum: number) => sum + 1 }),
        inbox.record(tx, 'consumer', 'message-1'),
        checkpoints.save('projection', 0n, 7n, tx),
        tx.client.query(`INSERT INTO ${table} (n) VALUES (3)`),
      ]);
      return { a, b, read, exists, folded, fresh };
    });
    expect(outcome.a.nextExpectedVersion).toBe(2);
    expect(outcome.b.nextExpectedVersion).toBe(2);
    // Call order: the append to order-1 went before the read of it, order-2's before its existence check.
    expect(outcome.read.map((e) => e.data)).toEqual([{ n: 0 }, { n: 1 }]);
    expect(outcome.exists).toBe(true);
    expect(outcome.folded.state).toBe(2);
    expect(outcome.fresh).toBe(true);
    expect((await store.readStream('order-2')).map((e) => e.data)).toEqual([{ n: 2 }, { n: 3 }]);
    expect(await committedRows(store, table)).toEqual([1, 2, 3]);
    const saved = await store.transaction(async (tx) => ({
      checkpoint: await checkpoints.load('projection', tx),
      recorded: await inbox.has(tx, 'consumer', 'message-1'),
    }));
    expect(saved.checkpoint?.position).toBe(7n);
    expect(saved.recorded).toBe(true);
  });

  it('holds statements issued beside a hooked append until it has released or rolled back: its rollback undoes only its own', async () => {
    const { store, table } = await open();
    // An inline projection writing through tx.sql and tx.client at once, and failing for n = 1 after its writes.
    store.addAppendHook(async (events, tx: PostgresTransaction) => {
      const n = (events[0]?.data as { n: number } | undefined)?.n ?? 0;
      await Promise.all([
        tx.sql.execute(`INSERT INTO ${table} (n) VALUES ($1)`, [100 + n]),
        tx.client.query(`INSERT INTO ${table} (n) VALUES ($1)`, [200 + n]),
      ]);
      if (n === 1) throw new Error('projection failed');
    });
    const outcome = await store.transaction(async (tx) => {
      const [failed, inserted, clientInserted, seen, kept] = await Promise.all([
        tx.appendToStream('a-1', [ev(1)]).catch((error: unknown) => error),
        tx.sql.execute(`INSERT INTO ${table} (n) VALUES (1)`),
        tx.client.query(`INSERT INTO ${table} (n) VALUES (2)`),
        tx.sql.query<{ count: string }>(`SELECT count(*) AS count FROM "${store.schema}".events WHERE stream_id = 'a-1'`),
        tx.appendToStream('b-1', [ev(2)]),
      ]);
      return { failed, inserted, clientInserted: clientInserted.rowCount, seen, kept };
    });
    expect(String(outcome.failed)).toMatch(/projection failed/);
    expect(outcome.inserted).toBe(1);
    expect(outcome.clientInserted).toBe(1);
    // Issued during the failing append, it ran after its rollback: no trace of it.
    expect(outcome.seen).toEqual([{ count: '0' }]);
    expect(outcome.kept.nextExpectedVersion).toBe(1);
    expect(await committedRows(store, table)).toEqual([1, 2, 102, 202]);
    expect(await store.streamExists('a-1')).toBe(false);
  });

  it('rejects the statements waiting behind a failed one without sending them, and the transaction rolls back', async () => {
    const { store, table, calls } = await open();
    let settled: PromiseSettledResult<unknown>[] = [];
    const error = await store
      .transaction(async (tx) => {
        settled = await Promise.allSettled([
          tx.sql.execute(`INSERT INTO ${table} (n) VALUES (1)`),
          tx.sql.query('SELECT 1 / 0'),
          tx.sql.query(`SELECT nextval('${calls}')`),
          tx.appendToStream('order-1', [ev(1)]),
          tx.client.query(`INSERT INTO ${table} (n) VALUES (2)`),
        ]);
        return 'swallowed';
      })
      .catch((e: unknown) => e);
    const [insert, failed, ...waiting] = settled;
    expect(insert?.status).toBe('fulfilled');
    expect(failed).toMatchObject({ status: 'rejected', reason: { code: '22012' } });
    const cause = (failed as PromiseRejectedResult).reason;
    for (const result of waiting) {
      expect(result).toMatchObject({ status: 'rejected', reason: { code: '25P02', cause } });
      expect((result as PromiseRejectedResult).reason.message).toMatch(
        /^Not sent: an earlier statement of this transaction failed \(division by zero\)/,
      );
    }
    // The commit of a transaction PostgreSQL has aborted answers ROLLBACK: nothing was written.
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/rolled back/);
    expect(await committedRows(store, table)).toEqual([]);
    expect(await store.streamExists('order-1')).toBe(false);
    // The waiting nextval was never sent (sequences are not transactional: it would have counted).
    expect(await nextCall(store, calls)).toBe(1);
  });

  it('a Promise.all that rejects at the failure rolls the transaction back with that failure', async () => {
    const { store, table } = await open();
    const error = await store
      .transaction((tx) =>
        Promise.all([
          tx.sql.execute(`INSERT INTO ${table} (n) VALUES (1)`),
          tx.sql.execute(`INSERT INTO ${table} (n) VALUES (1)`),
          tx.sql.execute(`INSERT INTO ${table} (n) VALUES (2)`),
        ]),
      )
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: '23505' });
    expect(await committedRows(store, table)).toEqual([]);
  });

  it('types the waiting statements like a deadlock or serialization failure, so the unit of work is retried whichever error wins', async () => {
    const { store, table } = await open();
    const serializationFailure = `DO $$ BEGIN RAISE EXCEPTION 'simulated' USING ERRCODE = 'serialization_failure'; END $$`;
    let attempts = 0;
    let firstAttempt: PromiseSettledResult<unknown>[] = [];
    await store.transaction(
      async (tx) => {
        attempts++;
        const all = [
          tx.sql.execute(`INSERT INTO ${table} (n) VALUES (1)`),
          tx.sql.execute(attempts === 1 ? serializationFailure : 'SELECT 1'),
          tx.sql.query('SELECT 2'),
          tx.appendToStream('order-1', [ev(1)]),
        ];
        if (attempts === 1) firstAttempt = await Promise.allSettled(all);
        await Promise.all(all);
      },
      { retry: { maxAttempts: 3 } },
    );
    expect(attempts).toBe(2);
    expect(firstAttempt.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'rejected']);
    for (const result of firstAttempt.slice(1)) expect((result as PromiseRejectedResult).reason).toBeInstanceOf(TransactionConflictError);
    expect(await committedRows(store, table)).toEqual([1]);
    expect(await store.streamExists('order-1')).toBe(true);
  });

  it('rejects the statements waiting behind one whose connection died with ConnectionLostError, never hanging', async () => {
    const { store } = await open();
    let settled: PromiseSettledResult<unknown>[] = [];
    const error = await store
      .transaction(async (tx) => {
        settled = await Promise.allSettled([
          tx.sql.query('SELECT pg_terminate_backend(pg_backend_pid())'),
          tx.sql.query('SELECT 1'),
          tx.readStream('order-1'),
        ]);
      })
      .catch((e: unknown) => e);
    expect(settled.map((result) => result.status)).toEqual(['rejected', 'rejected', 'rejected']);
    for (const result of settled) expect((result as PromiseRejectedResult).reason).toBeInstanceOf(ConnectionLostError);
    expect(error).toBeInstanceOf(ConnectionLostError);
  });

  it('sends the statements the work left unawaited before COMMIT, and refuses one issued after the work settled', async () => {
    const { store, table } = await open();
    let unawaited: Promise<unknown>[] = [];
    let issuedLater: Promise<unknown> | undefined;
    await store.transaction(async (tx) => {
      unawaited = [1, 2, 3].map((n) => tx.sql.execute(`INSERT INTO ${table} (n) VALUES ($1)`, [n]));
      issuedLater = unawaited[0]?.then(() => tx.sql.query('SELECT 1')).catch((e: unknown) => e);
    });
    expect(await Promise.all(unawaited)).toEqual([1, 1, 1]);
    expect(await issuedLater).toBeInstanceOf(ValidationError);
    expect(await committedRows(store, table)).toEqual([1, 2, 3]);
  });

  it('runs the statements left queued by a failed work before its ROLLBACK', async () => {
    const { store, table } = await open();
    let queued: Promise<unknown> | undefined;
    const failure = new Error('the work failed');
    const error = await store
      .transaction(async (tx) => {
        const running = tx.sql.query('SELECT pg_sleep(0.05)');
        queued = tx.sql.execute(`INSERT INTO ${table} (n) VALUES (1)`);
        await Promise.all([running, queued, Promise.reject(failure)]);
      })
      .catch((e: unknown) => e);
    expect(error).toBe(failure);
    expect(await queued).toBe(1);
    expect(await committedRows(store, table)).toEqual([]);
  });

  it('for any burst of calls: those before the first failure run in call order, none after it is sent', async () => {
    const { store, table, calls } = await open();
    let round = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom('query', 'client', 'append', 'fail'), { minLength: 1, maxLength: 12 }), async (kinds) => {
        round++;
        const stream = `round-${round}`;
        const start = await nextCall(store, calls);
        // One statement per call, each writing a row and numbering itself as the server runs it.
        const counted = (failure = '') =>
          `WITH written AS (INSERT INTO ${table} (n) VALUES ($1)) SELECT nextval('${calls}')::int${failure} AS ran`;
        let settled: PromiseSettledResult<number>[] = [];
        const committed = await store
          .transaction(async (tx) => {
            settled = await Promise.allSettled(
              kinds.map(async (kind, i) => {
                const row = round * 100 + i;
                if (kind === 'append') return (await tx.appendToStream(stream, [ev(i)])).nextExpectedVersion;
                if (kind === 'client') return (await tx.client.query<{ ran: number }>(counted(), [row])).rows[0]?.ran as number;
                const [result] = await tx.sql.query<{ ran: number }>(counted(kind === 'fail' ? ' / 0' : ''), [row]);
                return result?.ran as number;
              }),
            );
          })
          .then(
            () => true,
            () => false,
          );
        const firstFailure = kinds.indexOf('fail');
        const sent = firstFailure === -1 ? kinds : kinds.slice(0, firstFailure + 1);
        expect(committed).toBe(firstFailure === -1);
        let ran = start;
        let version = 0;
        settled.forEach((result, i) => {
          if (i < sent.length - 1 || firstFailure === -1) {
            expect(result).toEqual({ status: 'fulfilled', value: kinds[i] === 'append' ? ++version : ++ran });
          } else if (i === firstFailure) {
            expect(result).toMatchObject({ status: 'rejected', reason: { code: '22012' } });
          } else {
            expect(result).toMatchObject({ status: 'rejected', reason: { code: '25P02' } });
          }
        });
        // Sequences are not transactional: only the calls that reached the server (the failing one included) counted.
        expect(await nextCall(store, calls)).toBe(start + sent.filter((kind) => kind !== 'append').length + 1);
        const rows = (await committedRows(store, table)).filter((n) => Math.floor(n / 100) === round);
        expect(rows).toEqual(firstFailure === -1 ? kinds.flatMap((kind, i) => (kind === 'append' ? [] : [round * 100 + i])) : []);
        expect(await store.streamExists(stream)).toBe(firstFailure === -1 && kinds.includes('append'));
      }),
      { numRuns: 25 },
    );
  });
});
