import { TransactionConflictError } from '@tidemark/core';
import { serviceAvailable } from '@tidemark/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { createStoreFactory } from './testSchemas.js';

const available = await serviceAvailable('postgres');

describe.skipIf(!available)('PostgreSQL: a statement refused after a failure the work caught', () => {
  const stores = createStoreFactory();
  afterAll(() => stores.cleanup());

  it('fails as the caught failure did (a retryable timeout), so { retry } runs the work again', async () => {
    const store = await stores.create({ poolSize: 2 });
    let attempts = 0;
    const result = await store.transaction(
      async (tx) => {
        attempts++;
        if (attempts === 1) {
          await tx.sql.query(`SET LOCAL statement_timeout = '50ms'`);
          // Caught and gone on from, as a best-effort read (a snapshot load) does.
          await tx.sql.query('SELECT pg_sleep(1)').catch(() => undefined);
        }
        // Refused by the server (25P02) on the first attempt: the transaction is aborted.
        const rows = await tx.sql.query<{ one: number }>('SELECT 1 AS one');
        return rows[0]?.one;
      },
      { retry: { maxAttempts: 3, initialDelayMs: 1 } },
    );
    expect(result).toBe(1);
    expect(attempts).toBe(2);
  });

  it('names the caught failure in the refused statement’s error', async () => {
    const store = await stores.create({ poolSize: 2 });
    const error = await store
      .transaction(async (tx) => {
        await tx.sql.query(`SET LOCAL statement_timeout = '50ms'`);
        await tx.sql.query('SELECT pg_sleep(1)').catch(() => undefined);
        await tx.sql.query('SELECT 1');
      })
      .catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(TransactionConflictError);
    expect((error as TransactionConflictError).details).toMatchObject({ sqlState: '57014' });
  });
});
