import { RetriesExhaustedError, TransactionConflictError } from '@tidemark/core';
import { serviceAvailable, serviceUrls } from '@tidemark/testing';
import { describe, expect, it } from 'vitest';
import { isTransientPostgresError } from '../src/index.js';
import { holdStream, storesUnderRole } from './storesUnderRole.js';

const available = await serviceAvailable('postgres');

/** The shared server's URL with a per-connection setting (`options=-c name=value`). */
function urlWith(base: string, setting: string): string {
  const url = new URL(base);
  url.searchParams.set('options', `-c ${setting}`);
  return url.toString();
}

describe.skipIf(!available)('PostgreSQL store under a statement_timeout (SQLSTATE 57014)', () => {
  const suite = storesUnderRole('tm_stmttimeout', { statement_timeout: '50ms' });
  const open = (url = suite.roleUrl) => suite.open({ url, migrate: false });

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
});
