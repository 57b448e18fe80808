import { TransactionConflictError } from '@tidemark/core';
import { serviceAvailable, serviceUrls } from '@tidemark/testing';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresEventStore, isTransientPostgresError, type PostgresEventStore } from '../src/index.js';
import { createAppRole, dropRole, uniqueRole } from './testRole.js';
import { createStoreFactory } from './testSchemas.js';

const available = await serviceAvailable('postgres');

/** Holds `streamId`'s append lock (an open transaction that appended to it) until the returned function is called. */
async function holdStream(store: PostgresEventStore, streamId: string): Promise<() => Promise<void>> {
  let release = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let holding = () => {};
  const held = new Promise<void>((resolve) => {
    holding = resolve;
  });
  const done = store.transaction(async (tx) => {
    await tx.appendToStream(streamId, [{ type: 'held', data: {} }]);
    holding();
    await released;
  });
  await held;
  return async () => {
    release();
    await done;
  };
}

describe.skipIf(!available)('PostgreSQL store under a role with a short lock_timeout', () => {
  const stores = createStoreFactory();
  const { role, roleUrl } = uniqueRole('tm_locktimeout');
  const opened: PostgresEventStore[] = [];
  let admin: pg.Pool;
  let schema: string;
  let holder: PostgresEventStore;

  beforeAll(async () => {
    admin = new pg.Pool({ connectionString: serviceUrls.postgres, max: 1 });
    holder = await stores.create({ poolSize: 2 });
    schema = holder.schema;
    await createAppRole(admin, role, schema, { lock_timeout: '50ms' });
  });

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((store) => store.close()));
  });

  afterAll(async () => {
    await stores.cleanup();
    await dropRole(admin, role);
    await admin.end();
  });

  const open = async (options: { groupCommit?: boolean } = {}) => {
    const store = await createPostgresEventStore({ url: roleUrl, schema, poolSize: 2, ...options });
    opened.push(store);
    return store;
  };

  it('retries an append that timed out waiting for the stream a concurrent transaction holds', async () => {
    const store = await open();
    const release = await holdStream(holder, 'held-1');
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
    const release = await holdStream(holder, 'held-2');
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
