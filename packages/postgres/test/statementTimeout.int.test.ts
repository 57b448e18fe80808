import { RetriesExhaustedError, TransactionConflictError } from '@tidemark/core';
import { serviceAvailable, serviceUrls } from '@tidemark/testing';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createPostgresSnapshotStore, isTransientPostgresError, quoteIdentifier } from '../src/index.js';
import { holdStream, storesUnderRole } from './storesUnderRole.js';

const available = await serviceAvailable('postgres');

/** The shared server's URL with a per-connection setting (`options=-c name=value`). */
function urlWith(base: string, setting: string): string {
  const url = new URL(base);
  url.searchParams.set('options', `-c ${setting}`);
  return url.toString();
}

/**
 * Holds an ACCESS EXCLUSIVE lock on `schema.table` (as the server's superuser, in an open
 * transaction) until the returned function is called: every read of the table waits behind it,
 * so a read under a statement_timeout is cut by it.
 */
async function holdTable(schema: string, table: string): Promise<() => Promise<void>> {
  const holder = new pg.Client({ connectionString: serviceUrls.postgres });
  await holder.connect();
  await holder.query('BEGIN');
  await holder.query(`LOCK TABLE ${quoteIdentifier(schema)}.${quoteIdentifier(table)} IN ACCESS EXCLUSIVE MODE`);
  return async () => {
    await holder.query('ROLLBACK');
    await holder.end();
  };
}

/** A read's failure: the typed, retryable statement_timeout error naming the setting and `value`. */
function expectNamedTimeout(error: unknown, value: string): void {
  expect(error).toBeInstanceOf(TransactionConflictError);
  expect(error).toMatchObject({
    code: 'transaction_conflict',
    details: { sqlState: '57014', setting: 'statement_timeout', value },
  });
  expect((error as Error).message).toContain(`statement_timeout (${value})`);
  expect((error as Error).cause).toMatchObject({ code: '57014' });
  expect(isTransientPostgresError(error)).toBe(true);
}

describe.skipIf(!available)('PostgreSQL store under a statement_timeout (SQLSTATE 57014)', () => {
  const suite = storesUnderRole('tm_stmttimeout', { statement_timeout: '50ms' });
  const open = (url = suite.roleUrl, options: { poolSize?: number } = {}) => suite.open({ url, migrate: false, ...options });

  it("a store statement cut by the role's statement_timeout: a typed error naming the setting and its value, nothing written", async () => {
    const store = await open();
    const release = await holdStream(suite.owner, 'st-held');
    try {
      const error = await store
        .transaction(async (tx) => {
          await tx.appendToStream('st-other', [{ type: 'written', data: {} }]);
          // Waits behind the holder's stream lock until statement_timeout cancels it.
          await tx.appendToStream('st-held', [{ type: 'added', data: {} }]);
        })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TransactionConflictError);
      expect(error).toMatchObject({
        code: 'transaction_conflict',
        details: { sqlState: '57014', setting: 'statement_timeout', value: '50ms' },
      });
      expect((error as Error).message).toMatch(/statement_timeout \(50ms\)/);
      expect((error as Error).cause).toMatchObject({ code: '57014' });
      // Retryable, as a lock_timeout (55P03) is: the wait behind a lock may end.
      expect(isTransientPostgresError(error)).toBe(true);
      // Rolled back whole: the first append is not there either.
      expect(await suite.owner.streamExists('st-other')).toBe(false);
    } finally {
      await release();
    }
  });

  it('a slow statement of the work under a per-connection statement_timeout (options): typed, rolled back', async () => {
    const store = await open(urlWith(serviceUrls.postgres, 'statement_timeout=60ms'));
    const error = await store
      .transaction(async (tx) => {
        await tx.appendToStream('st-slow', [{ type: 'written', data: {} }]);
        await tx.sql.query('SELECT pg_sleep(0.5)');
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransactionConflictError);
    expect(error).toMatchObject({ details: { sqlState: '57014', setting: 'statement_timeout', value: '60ms' } });
    expect(await suite.owner.streamExists('st-slow')).toBe(false);
  });

  it('with { retry }: a statement that always outlasts the setting ends as RetriesExhaustedError whose cause names it', async () => {
    const store = await open();
    let attempts = 0;
    const error = await store
      .transaction(
        async (tx) => {
          attempts++;
          await tx.sql.query('SELECT pg_sleep(0.5)');
        },
        { retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 5 } },
      )
      .catch((e: unknown) => e);
    expect(attempts).toBe(3);
    expect(error).toBeInstanceOf(RetriesExhaustedError);
    expect((error as Error).cause).toMatchObject({ details: { setting: 'statement_timeout', value: '50ms' } });
  });

  it('with { retry }: a wait behind a lock that ends runs again and commits', async () => {
    const store = await open();
    const release = await holdStream(suite.owner, 'st-held-2');
    const released = new Promise((resolve) => setTimeout(resolve, 150)).then(release);
    let attempts = 0;
    try {
      const result = await store.transaction(
        async (tx) => {
          attempts++;
          return tx.appendToStream('st-held-2', [{ type: 'added', data: {} }]);
        },
        { retry: true },
      );
      expect(result).toMatchObject({ written: true, nextExpectedVersion: 2 });
      expect(attempts).toBeGreaterThan(1);
    } finally {
      await released;
    }
  });

  it('an autocommit append cut by statement_timeout behind a held lock: typed, nothing written', async () => {
    const store = await open();
    const release = await holdStream(suite.owner, 'st-held-3');
    try {
      const error = await store.appendToStream('st-held-3', [{ type: 'added', data: {} }]).catch((e: unknown) => e);
      // Retried within the append's own budget (5 attempts), then given up with the setting named.
      expect(error).toBeInstanceOf(RetriesExhaustedError);
      expect((error as Error).cause).toMatchObject({ details: { sqlState: '57014', setting: 'statement_timeout', value: '50ms' } });
    } finally {
      await release();
    }
    expect((await suite.owner.readStream('st-held-3')).map((event) => event.type)).toEqual(['held']);
  });

  describe('pool-direct reads cut by it: typed, with the value read on the connection that was cancelled', () => {
    it('readStream and streamExists', async () => {
      const store = await open();
      await suite.owner.appendToStream('st-read', [{ type: 'written', data: {} }]);
      const release = await holdTable(suite.schema, 'events');
      try {
        expectNamedTimeout(await store.readStream('st-read').catch((e: unknown) => e), '50ms');
        expectNamedTimeout(await store.readStream('st-read', { direction: 'backwards' }).catch((e: unknown) => e), '50ms');
        expectNamedTimeout(await store.streamExists('st-read').catch((e: unknown) => e), '50ms');
      } finally {
        await release();
      }
      // The pool is whole afterwards: the same reads succeed.
      expect((await store.readStream('st-read')).map((event) => event.type)).toEqual(['written']);
    });

    it('readAll, readPage and headPosition (what subscriptions read the log with)', async () => {
      const store = await open();
      await suite.owner.appendToStream('st-read-all', [{ type: 'written', data: {} }]);
      const release = await holdTable(suite.schema, 'events');
      try {
        const readAll = async () => {
          for await (const _ of store.readAll({ readYourWrites: false })) {
            // drained
          }
        };
        expectNamedTimeout(await readAll().catch((e: unknown) => e), '50ms');
        expectNamedTimeout(await store.readPage({ after: 0n, limit: 10, readYourWrites: false }).catch((e: unknown) => e), '50ms');
        expectNamedTimeout(await store.headPosition({ readYourWrites: false }).catch((e: unknown) => e), '50ms');
      } finally {
        await release();
      }
      expect(await store.headPosition({ readYourWrites: false })).toBeGreaterThan(0n);
    });

    it("aggregateStream's COPY fold and a snapshot load", async () => {
      const store = await open();
      await suite.owner.appendToStream('st-fold', [{ type: 'written', data: {} }]);
      const evolver = { initialState: () => 0, evolve: (n: number) => n + 1 };
      const releaseEvents = await holdTable(suite.schema, 'events');
      try {
        expectNamedTimeout(await store.aggregateStream('st-fold', evolver).catch((e: unknown) => e), '50ms');
      } finally {
        await releaseEvents();
      }
      expect(await store.aggregateStream('st-fold', evolver)).toMatchObject({ state: 1 });
      const snapshots = createPostgresSnapshotStore({ store });
      const releaseSnapshots = await holdTable(suite.schema, 'tidemark_snapshots');
      try {
        expectNamedTimeout(await snapshots.load('st-fold', 'count').catch((e: unknown) => e), '50ms');
      } finally {
        await releaseSnapshots();
      }
      expect(await snapshots.load('st-fold', 'count')).toBeUndefined();
    });

    it("names the value of the session that was cancelled: a SET left on the pool's one connection, not the role's", async () => {
      const store = await open(undefined, { poolSize: 1 });
      // A session-level SET (no LOCAL) in a unit of work outlives it on its pooled connection.
      await store.transaction(async (tx) => {
        await tx.sql.query("SET statement_timeout = '70ms'");
      });
      const release = await holdTable(suite.schema, 'events');
      try {
        // A fresh connection of the role would say 50ms: the read that fired ran under 70ms.
        expectNamedTimeout(await store.readStream('st-session').catch((e: unknown) => e), '70ms');
      } finally {
        await release();
      }
    });
  });
});
