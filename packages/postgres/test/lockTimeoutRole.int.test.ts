import { TransactionConflictError } from '@tidemark/core';
import { serviceAvailable } from '@tidemark/testing';
import { describe, expect, it } from 'vitest';
import { isTransientPostgresError, type PostgresEventStore } from '../src/index.js';
import { holdStream, storesUnderRole } from './storesUnderRole.js';

const available = await serviceAvailable('postgres');

describe.skipIf(!available)('PostgreSQL store under a role with a short lock_timeout', () => {
  const suite = storesUnderRole('tm_locktimeout', { lock_timeout: '50ms' });
  const open = (options: { groupCommit?: boolean } = {}) => suite.open(options);

  it('retries an append that timed out waiting for the stream a concurrent transaction holds', async () => {
    const store = await open();
    const release = await holdStream(suite.owner, 'held-1');
    const append = store.appendToStream('held-1', [{ type: 'added', data: {} }]);
    // A lock timeout or two (50 ms each), well within an append's own retry budget (5 attempts).
    const released = new Promise((resolve) => setTimeout(resolve, 120)).then(release);
    try {
      await expect(append).resolves.toMatchObject({ written: true, nextExpectedVersion: 2 });
    } finally {
      await released;
    }
  });

  it('fails a transaction that timed out waiting for a lock as a TransactionConflictError, which retry runs again', async () => {
    const store = await open();
    const release = await holdStream(suite.owner, 'held-2');
    const released = new Promise((resolve) => setTimeout(resolve, 300)).then(release);
    try {
      await expectConflictThenRetried(store);
    } finally {
      await released;
    }
  });
});

async function expectConflictThenRetried(store: PostgresEventStore): Promise<void> {
  const once = store.transaction((tx) => tx.appendToStream('held-2', [{ type: 'added', data: {} }]));
  const error = await once.catch((e: unknown) => e);
  expect(error).toBeInstanceOf(TransactionConflictError);
  expect(isTransientPostgresError(error)).toBe(true);
  const retried = store.transaction((tx) => tx.appendToStream('held-2', [{ type: 'added', data: {} }]), { retry: true });
  await expect(retried).resolves.toMatchObject({ written: true, nextExpectedVersion: 2 });
}
