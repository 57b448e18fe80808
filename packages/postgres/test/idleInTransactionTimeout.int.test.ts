import { StoreMisconfiguredError } from '@tidemark/core';
import { serviceAvailable, serviceUrls } from '@tidemark/testing';
import { describe, expect, it } from 'vitest';
import { isTransientPostgresError } from '../src/index.js';
import { storesUnderRole } from './storesUnderRole.js';

const available = await serviceAvailable('postgres');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(!available)('PostgreSQL store under idle_in_transaction_session_timeout (SQLSTATE 25P03)', () => {
  const suite = storesUnderRole('tm_idletx', { idle_in_transaction_session_timeout: '100ms' });
  const open = (url = suite.roleUrl) => suite.open({ url, migrate: false });

  const expectIdleTimeout = (error: unknown, value: string) => {
    expect(error).toBeInstanceOf(StoreMisconfiguredError);
    expect(error).toMatchObject({
      code: 'misconfigured',
      details: { sqlState: '25P03', setting: 'idle_in_transaction_session_timeout', value },
    });
    expect((error as Error).message).toMatch(/idle_in_transaction_session_timeout \(100ms\)/);
    expect((error as Error).message).toMatch(/idle/);
    // Running the same work again would idle as long: not transient, whatever the cause chain holds.
    expect(isTransientPostgresError(error)).toBe(false);
    for (let e: unknown = error; e; e = (e as { cause?: unknown }).cause) expect(isTransientPostgresError(e)).toBe(false);
  };

  it('a work that idles past the timeout, then issues a statement: a typed, non-retryable error naming the setting; nothing written', async () => {
    const store = await open();
    const error = await store
      .transaction(async (tx) => {
        await tx.appendToStream('idle-1', [{ type: 'written', data: {} }]);
        await sleep(400);
        await tx.sql.query('SELECT 1');
      })
      .catch((e: unknown) => e);
    expectIdleTimeout(error, '100ms');
    expect(await suite.owner.streamExists('idle-1')).toBe(false);
    // The store goes on.
    await expect(store.appendToStream('idle-1', [{ type: 'written', data: {} }])).resolves.toMatchObject({ nextExpectedVersion: 1 });
  });

  it('a work that idles past the timeout and returns: the same error at commit, nothing written', async () => {
    const store = await open();
    const error = await store
      .transaction(async (tx) => {
        await tx.appendToStream('idle-2', [{ type: 'written', data: {} }]);
        await sleep(400);
      })
      .catch((e: unknown) => e);
    expectIdleTimeout(error, '100ms');
    expect(await suite.owner.streamExists('idle-2')).toBe(false);
  });

  it('with { retry }: the slow work runs once, not again and again', async () => {
    const store = await open();
    let attempts = 0;
    const error = await store
      .transaction(
        async (tx) => {
          attempts++;
          await tx.appendToStream('idle-3', [{ type: 'written', data: {} }]);
          await sleep(400);
          await tx.sql.query('SELECT 1');
        },
        { retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 5 } },
      )
      .catch((e: unknown) => e);
    expect(attempts).toBe(1);
    expectIdleTimeout(error, '100ms');
    expect(await suite.owner.streamExists('idle-3')).toBe(false);
  });

  it('set per connection (options): the same typed error', async () => {
    const url = new URL(serviceUrls.postgres);
    url.searchParams.set('options', '-c idle_in_transaction_session_timeout=100');
    const store = await open(url.toString());
    const error = await store
      .transaction(async (tx) => {
        await tx.appendToStream('idle-4', [{ type: 'written', data: {} }]);
        await sleep(400);
        await tx.sql.query('SELECT 1');
      })
      .catch((e: unknown) => e);
    expectIdleTimeout(error, '100ms');
  });
});
