import { type AppendOptions, ConcurrencyError, newId } from '@tidemark/core';
import { serviceAvailable, serviceUrls, waitFor } from '@tidemark/testing';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import type { PostgresEventStore, PostgresTransaction } from '../src/index.js';
import { holdStream, storesUnderRole } from './storesUnderRole.js';

const available = await serviceAvailable('postgres');

/** Resolves once `count` callers have arrived: the transactions below read before either appends. */
function barrier(count: number): () => Promise<void> {
  let arrived = 0;
  let open: () => void = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return () => {
    arrived++;
    if (arrived === count) open();
    return opened;
  };
}

describe.skipIf(!available)('PostgreSQL store under a role whose default isolation is REPEATABLE READ', () => {
  const suite = storesUnderRole('fixpg_rr', { default_transaction_isolation: 'repeatable read' });
  const open = (poolSize: number, options: { groupCommit?: boolean } = {}) => suite.open({ poolSize, ...options });

  it("runs its transactions READ COMMITTED, whatever the role's default, and keeps relaxed durability", async () => {
    const store = await open(1);
    // The premise: a bare BEGIN on this role's connections is REPEATABLE READ.
    expect((await store.queries.query<{ level: string }>('SELECT current_setting($1) AS level', ['transaction_isolation']))[0]?.level).toBe(
      'repeatable read',
    );
    const setting = (tx: PostgresTransaction, name: string) =>
      tx.sql.query<{ value: string }>('SELECT current_setting($1) AS value', [name]).then((rows) => rows[0]?.value);
    expect(await store.transaction((tx) => setting(tx, 'transaction_isolation'))).toBe('read committed');
    expect(await store.transaction((tx) => setting(tx, 'synchronous_commit'))).toBe('on');
    const relaxed = await store.transaction(
      async (tx) => [await setting(tx, 'transaction_isolation'), await setting(tx, 'synchronous_commit')],
      { durability: 'relaxed' },
    );
    expect(relaxed).toEqual(['read committed', 'off']);
  });

  it('turns two concurrent transactions appending to one stream into a ConcurrencyError', async () => {
    const store = await open(2);
    const stream = 'acct-plain';
    const bothRead = barrier(2);
    const attempt = () =>
      store.transaction(async (tx) => {
        const events = await tx.readStream(stream);
        await bothRead();
        return tx.appendToStream(stream, [{ type: 'deposited', data: {} }], { expectedVersion: events.length });
      });
    const outcomes = await Promise.allSettled([attempt(), attempt()]);
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
    const failed = outcomes.find((outcome) => outcome.status === 'rejected');
    expect(failed?.reason).toBeInstanceOf(ConcurrencyError);
    expect((await store.readStream(stream)).map((event) => event.version)).toEqual([1]);
  });

  it('runs the losing unit of work again with retry, and both succeed', async () => {
    const store = await open(2);
    const stream = 'acct-retry';
    const bothRead = barrier(2);
    let attempts = 0;
    const attempt = () =>
      store.transaction(
        async (tx) => {
          attempts++;
          const events = await tx.readStream(stream);
          // Only the first attempts meet: a rerun must not wait for a partner that is done.
          if (events.length === 0) await bothRead();
          return tx.appendToStream(stream, [{ type: 'deposited', data: {} }], { expectedVersion: events.length });
        },
        { retry: { maxAttempts: 5 } },
      );
    await Promise.all([attempt(), attempt()]);
    expect(attempts).toBe(3);
    expect((await store.readStream(stream)).map((event) => event.version)).toEqual([1, 2]);
  });

  concurrentAutocommitTests(suite, 'rr');

  it("lets the function decide under READ COMMITTED (the server's default), with no transaction", async () => {
    // The fast path is unchanged where the role's default is the server's: the function's
    // statements see the head committed before its lock, so it never needs the transaction.
    const contended = await contendedStore(suite, { url: serviceUrls.postgres, groupCommit: false });
    const result = await contended.append('acct-rc', [{ type: 'deposited', data: {} }]);
    expect(contended.statements()).toBe(2);
    expect(contended.transactions()).toBe(0);
    expect(result).toMatchObject({ written: true, nextExpectedVersion: 3 });
    expect((await suite.owner.readStream('acct-rc')).map((event) => event.type)).toEqual(['held', 'held', 'deposited']);
  });
});

describe.skipIf(!available)('PostgreSQL store under a role whose default isolation is SERIALIZABLE', () => {
  const suite = storesUnderRole('fixpg_ser', { default_transaction_isolation: 'serializable' });

  it('runs its transactions READ COMMITTED', async () => {
    const store = await suite.open({ poolSize: 1 });
    expect((await store.queries.query<{ level: string }>('SELECT current_setting($1) AS level', ['transaction_isolation']))[0]?.level).toBe(
      'serializable',
    );
    const level = await store.transaction((tx) =>
      tx.sql.query<{ value: string }>('SELECT current_setting($1) AS value', ['transaction_isolation']).then((rows) => rows[0]?.value),
    );
    expect(level).toBe('read committed');
  });

  concurrentAutocommitTests(suite, 'ser');
});

type Suite = ReturnType<typeof storesUnderRole>;

/**
 * Autocommit appends take the role's default isolation: under REPEATABLE READ or SERIALIZABLE
 * one snapshot, taken before the append waits for its stream's lock. One that waited behind
 * another writer runs again in a READ COMMITTED transaction (autocommitAppend.ts).
 */
function concurrentAutocommitTests(suite: Suite, tag: string): void {
  it('writes every one of many concurrent autocommit appends to one stream', async () => {
    for (const groupCommit of [true, false]) {
      const store = await suite.open({ poolSize: 4, groupCommit });
      const stream = `acct-auto${groupCommit ? 'group' : 'plain'}`;
      await Promise.all(Array.from({ length: 40 }, (_, i) => store.appendToStream(stream, [{ type: 'deposited', data: { i } }])));
      expect((await store.readStream(stream)).map((event) => event.version)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    }
  });

  it('writes every one of many more concurrent autocommit appends to one stream, on a larger pool', async () => {
    // Before the READ COMMITTED rerun, the plain path failed in every run of this (five attempts
    // of the same snapshot-before-lock statement were not enough).
    for (const groupCommit of [true, false]) {
      const store = await suite.open({ poolSize: 8, groupCommit });
      const stream = `acct-hot${groupCommit ? 'group' : 'plain'}`;
      const results = await Promise.all(
        Array.from({ length: 100 }, (_, i) => store.appendToStream(stream, [{ type: 'deposited', data: { i } }])),
      );
      const events = await store.readStream(stream);
      expect(events.map((event) => event.version)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
      // Each result is its own event's: version and position as stored, written.
      results.forEach((result, i) => {
        const stored = events.find((event) => (event.data as { i: number }).i === i);
        expect(result).toMatchObject({ written: true, nextExpectedVersion: stored?.version, position: stored?.position });
      });
      // A stream's versions are in global order.
      const positions = events.map((event) => event.position);
      expect([...positions].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(positions);
    }
  });

  it('keeps the order of a group-commit batch that waited for its stream lock', async () => {
    const store = await suite.open({ poolSize: 4, groupCommit: true });
    const stream = `acct-order-${tag}`;
    const release = await holdStream(suite.owner, stream);
    // The first goes alone; the other five queue meanwhile and go as one batch, in this order.
    const appends = Array.from({ length: 6 }, (_, i) => store.appendToStream(stream, [{ type: 'deposited', data: { i } }]));
    await lockWaiters(suite, new URL(suite.roleUrl).username, 2);
    // Both statements' snapshots predate this commit: the batch raises, and its appends run alone.
    await release();
    const results = await Promise.all(appends);
    const events = await store.readStream(stream);
    expect(events.map((event) => event.version)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    const order = events.slice(1).map((event) => (event.data as { i: number }).i);
    expect(order.filter((i) => i > 0)).toEqual([1, 2, 3, 4, 5]);
    results.forEach((result, i) => {
      const stored = events.find((event) => (event.data as { i?: number }).i === i);
      expect(result).toMatchObject({ written: true, nextExpectedVersion: stored?.version, position: stored?.position });
    });
  });

  for (const groupCommit of [false, true]) {
    const mode = groupCommit ? 'with group commit' : 'without group commit';

    it(`writes an append that waited for its stream's lock on its first call (${mode})`, async () => {
      // Every append statement of the store starts while another transaction holds the stream's
      // lock, which appends and commits once the statement waits: its snapshot is always stale.
      // Before: each attempt failed (23505, or 40001 under SERIALIZABLE) and the retries ran out.
      const stream = `acct-first-${tag}-${groupCommit}`;
      const contended = await contendedStore(suite, { groupCommit });
      const result = await contended.append(stream, [{ type: 'deposited', data: {} }]);
      expect(contended.statements()).toBe(2); // the statement and the function, once each: no retry
      expect(contended.transactions()).toBe(1);
      const events = await suite.owner.readStream(stream);
      expect(events.map((event) => event.type)).toEqual(['held', 'held', 'deposited']);
      const last = events[2]!;
      expect(result).toMatchObject({ streamId: stream, written: true, nextExpectedVersion: 3, position: last.position });
      expect(result.events.map((event) => event.id)).toEqual([last.id]);
    });

    it(`keeps idempotent retries with supplied ids when the lock was waited for (${mode})`, async () => {
      const stream = `acct-ids-${tag}-${groupCommit}`;
      const contended = await contendedStore(suite, { groupCommit });
      const events = [
        { id: newId(), type: 'deposited', data: { n: 1 } },
        { id: newId(), type: 'deposited', data: { n: 2 } },
      ];
      const first = await contended.append(stream, events);
      expect(contended.statements()).toBe(1); // supplied ids go to the function directly
      expect(first).toMatchObject({ written: true, nextExpectedVersion: 3 });
      const again = await contended.append(stream, events);
      // The ids were committed before the retry's snapshot: the function finds them itself.
      expect(again).toMatchObject({ written: false, nextExpectedVersion: first.nextExpectedVersion, position: first.position });
      expect(contended.transactions()).toBe(1);
      expect((await suite.owner.readStream(stream)).map((event) => event.type)).toEqual(['held', 'deposited', 'deposited', 'held']);
    });

    it(`refuses an expected version the waited-for writer moved, as a ConcurrencyError (${mode})`, async () => {
      const stream = `acct-expected-${tag}-${groupCommit}`;
      await suite.owner.appendToStream(stream, [{ type: 'opened', data: {} }]);
      const contended = await contendedStore(suite, { groupCommit });
      const deposit = [{ type: 'deposited', data: {} }];
      // The function refuses on the head its snapshot saw (the first writer's version 2): the
      // stream was there at that moment, as before. Nothing runs again.
      const refused = await contended.append(stream, deposit, { expectedVersion: 1 }).catch((error) => error);
      expect(refused).toBeInstanceOf(ConcurrencyError);
      expect(refused).toMatchObject({ expected: 1, actual: 2 });
      expect([contended.statements(), contended.transactions()]).toEqual([2, 0]);
      // Its snapshot's head (3) holds, the writer it waited for took version 4: decided again
      // under the lock in READ COMMITTED, a ConcurrencyError with the version found there.
      const moved = await contended
        .append(stream, [{ id: newId(), type: 'deposited', data: {} }], { expectedVersion: 3 })
        .catch((error) => error);
      expect(moved).toBeInstanceOf(ConcurrencyError);
      expect(moved).toMatchObject({ expected: 3, actual: 4 });
      expect([contended.statements(), contended.transactions()]).toEqual([3, 1]);
      const created = await contended.append(`${stream}-new`, deposit, { expectedVersion: 'no_stream' }).catch((error) => error);
      expect(created).toBeInstanceOf(ConcurrencyError);
      expect(created).toMatchObject({ expected: 'no_stream', actual: 1 });
      expect((await suite.owner.readStream(stream)).map((event) => event.type)).toEqual(['opened', 'held', 'held', 'held']);
    });
  }
}

/** Resolves once `count` sessions of `user` wait for an advisory lock in a statement on the suite's schema. */
function lockWaiters(suite: Suite, user: string, count: number): Promise<void> {
  return waitFor(
    async () => {
      const result = await suite.owner.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
          WHERE NOT l.granted AND l.locktype = 'advisory' AND a.usename = $1 AND strpos(a.query, $2) > 0`,
        [user, suite.schema],
      );
      return (result.rows[0]?.n ?? 0) >= count;
    },
    `${count} append statement(s) waiting for the stream lock`,
    10_000,
  );
}

interface ContendedStore {
  store: PostgresEventStore;
  /** Appends with every append statement contended (see contendedStore). */
  append(
    streamId: string,
    events: Parameters<PostgresEventStore['appendToStream']>[1],
    options?: AppendOptions,
  ): ReturnType<PostgresEventStore['appendToStream']>;
  /** Append statements sent on the pool so far. */
  statements(): number;
  /** Connections taken for a transaction of the store so far. */
  transactions(): number;
}

const pools: pg.Pool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.end()));
});

/**
 * A store on a pool of its own (the suite's role unless `url`) whose append statements on the
 * pool — the autocommit statement, append_to_stream in autocommit, group-commit batches — each
 * start while another transaction holds the stream's lock, which appends one event and commits
 * once the statement waits for that lock. Statements on a connection taken from the pool
 * (transactions) are not touched.
 */
async function contendedStore(suite: Suite, options: { groupCommit: boolean; url?: string }): Promise<ContendedStore> {
  const url = options.url ?? suite.roleUrl;
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  pools.push(pool);
  const store = await suite.open({ pool, groupCommit: options.groupCommit });
  const user = new URL(url).username;
  let stream: string | undefined;
  let statements = 0;
  let transactions = 0;
  const query = pool.query.bind(pool) as (config: unknown, values?: unknown) => Promise<unknown>;
  const connect = pool.connect.bind(pool) as (...args: unknown[]) => unknown;
  (pool as { query: unknown }).query = async (config: unknown, values?: unknown) => {
    const text = typeof config === 'string' ? config : ((config as { text?: string }).text ?? '');
    if (stream === undefined || !/append_to_stream|INSERT INTO/.test(text)) return query(config, values);
    statements++;
    const release = await holdStream(suite.owner, stream);
    const pending = query(config, values);
    pending.catch(() => {});
    await lockWaiters(suite, user, 1);
    await release();
    return pending;
  };
  // pg-pool's own query() connects with a callback: a promise-form connect is a transaction.
  (pool as { connect: unknown }).connect = (...args: unknown[]) => {
    if (stream !== undefined && args.length === 0) transactions++;
    return connect(...args);
  };
  return {
    store,
    async append(streamId, events, appendOptions) {
      stream = streamId;
      try {
        return await store.appendToStream(streamId, events, appendOptions);
      } finally {
        stream = undefined;
      }
    },
    statements: () => statements,
    transactions: () => transactions,
  };
}
