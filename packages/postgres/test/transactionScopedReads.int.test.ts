import {
  createCryptoShredding,
  type DomainEvent,
  type Evolver,
  loadAggregate,
  redactedMarker,
  runIdempotent,
  type SnapshotOptions,
  takeSnapshot,
} from '@tidemark/core';
import { serviceAvailable, serviceUrls } from '@tidemark/testing';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createPostgresIdempotencyKeyStore,
  createPostgresKeyStore,
  createPostgresSnapshotStore,
  postgresConnectionDefaults,
} from '../src/index.js';
import { createStoreFactory, randomSchemaName } from './testSchemas.js';

const available = await serviceAvailable('postgres');

/**
 * Inside `store.transaction`, the snapshot and key stores read on the transaction's own connection:
 * a transaction never needs a second one from the pool it holds one of. Before, with as many
 * concurrent transactions as the pool has connections, each waited for a connection none would
 * give back, and all failed after connectionTimeoutMs.
 */
type Counted = DomainEvent<'counter.added', { amount: number }>;
const counter: Evolver<Counted, number> = {
  initialState: () => 0,
  evolve: (state, event) => state + event.data.amount,
};
/** Well below the pool's 10 s default: a starved transaction fails fast, not after the test's timeout. */
const connectionTimeoutMs = 1500;

describe.skipIf(!available)('reads a transaction needs run on its own connection', () => {
  const stores = createStoreFactory();
  const pools: pg.Pool[] = [];
  afterAll(async () => {
    await stores.cleanup();
    await Promise.all(pools.map((pool) => pool.end()));
  });

  it('loads a snapshot inside a transaction on a pool of one connection', async () => {
    const store = await stores.create({ poolSize: 1, connectionTimeoutMs });
    const snapshots: SnapshotOptions<number> = {
      store: createPostgresSnapshotStore({ store }),
      version: 1,
      onError: (error) => {
        throw error;
      },
    };
    const appended = await store.appendToStream('counter-1', [{ type: 'counter.added', data: { amount: 2 } }]);
    await takeSnapshot(snapshots, 'counter-1', 2, appended.events[0]!);
    await store.appendToStream('counter-1', [{ type: 'counter.added', data: { amount: 3 } }]);
    const loaded = await store.transaction((tx) => loadAggregate(tx, 'counter-1', counter, { snapshots }));
    expect(loaded).toMatchObject({ state: 5, version: 2, snapshotVersion: 1 });
  });

  it('saves and loads snapshots as part of the unit of work: seen inside it, gone with its rollback', async () => {
    const store = await stores.create({ poolSize: 1, connectionTimeoutMs });
    const snapshotStore = createPostgresSnapshotStore({ store });
    const snapshots: SnapshotOptions<number> = { store: snapshotStore, version: 1 };
    const rollback = new Error('roll back');
    await expect(
      store.transaction(async (tx) => {
        const { events } = await tx.appendToStream('counter-2', [{ type: 'counter.added', data: { amount: 7 } }]);
        await takeSnapshot(snapshots, 'counter-2', 7, events[0]!);
        // The snapshot of an event not committed yet: readable here only.
        expect((await snapshotStore.load('counter-2', 'state'))?.streamVersion).toBe(1);
        expect(await loadAggregate(tx, 'counter-2', counter, { snapshots })).toMatchObject({ state: 7, snapshotVersion: 1 });
        throw rollback;
      }),
    ).rejects.toBe(rollback);
    expect(await snapshotStore.load('counter-2', 'state')).toBeUndefined();
    // Outside any transaction: the pool, as before.
    expect(await loadAggregate(store, 'counter-2', counter, { snapshots })).toMatchObject({ state: 0, exists: false });
  });

  it('decrypts personal data read inside a transaction on a pool of one connection', async () => {
    // The key store needs the store's pool before the store (whose stages use it) exists.
    const pool = new pg.Pool({
      ...postgresConnectionDefaults,
      connectionString: serviceUrls.postgres,
      max: 1,
      connectionTimeoutMillis: connectionTimeoutMs,
    });
    pools.push(pool);
    const schema = randomSchemaName();
    const keyStore = createPostgresKeyStore({ pool, schema });
    const personalData = { 'customer.registered': { subject: (data: { customerId: string }) => data.customerId, fields: ['name'] } };
    // Nothing cached: every read asks the key store.
    const shredding = createCryptoShredding({ keyStore, personalData, keyCacheTtlMs: 0 });
    const store = await stores.create({ pool, schema, stages: [shredding.stage] });
    await store.appendToStream('customer-1', [{ type: 'customer.registered', data: { customerId: 'c-1', name: 'Ada' } }]);
    const [read] = await store.transaction((tx) => tx.readStream('customer-1'));
    expect((read!.data as { name: string }).name).toBe('Ada');
    // A subject forgotten: its data reads redacted inside a transaction too.
    await keyStore.deleteKey('c-1');
    const [redacted] = await store.transaction((tx) => tx.readStream('customer-1'));
    expect((redacted!.data as { name: string }).name).toBe(redactedMarker);
  });

  it('goes back to the pool once the transaction has ended, for what its work left behind', async () => {
    const store = await stores.create({ poolSize: 2, connectionTimeoutMs });
    const snapshotStore = createPostgresSnapshotStore({ store });
    const appended = await store.appendToStream('counter-3', [{ type: 'counter.added', data: { amount: 1 } }]);
    await takeSnapshot({ store: snapshotStore, version: 1 }, 'counter-3', 1, appended.events[0]!);
    let later: Promise<unknown> | undefined;
    await store.transaction(async () => {
      later = new Promise((resolve) => setTimeout(resolve, 20)).then(() => snapshotStore.load('counter-3', 'state'));
    });
    // Run after COMMIT, in a context marked by the transaction: not on its (returned) connection.
    expect(await later).toMatchObject({ streamVersion: 1 });
  });

  it('still creates a first key outside the transaction: it survives the rollback', async () => {
    const pool = new pg.Pool({
      ...postgresConnectionDefaults,
      connectionString: serviceUrls.postgres,
      max: 2,
      connectionTimeoutMillis: connectionTimeoutMs,
    });
    pools.push(pool);
    const schema = randomSchemaName();
    const keyStore = createPostgresKeyStore({ pool, schema });
    const personalData = { 'customer.registered': { subject: (data: { customerId: string }) => data.customerId, fields: ['name'] } };
    const shredding = createCryptoShredding({ keyStore, personalData, keyCacheTtlMs: 0 });
    const store = await stores.create({ pool, schema, stages: [shredding.stage] });
    const rollback = new Error('roll back');
    await expect(
      store.transaction(async (tx) => {
        await tx.appendToStream('customer-2', [{ type: 'customer.registered', data: { customerId: 'c-2', name: 'Grace' } }]);
        throw rollback;
      }),
    ).rejects.toBe(rollback);
    expect(await keyStore.findKey('c-2')).toMatchObject({ subjectId: 'c-2' });
  });

  it('runs as many concurrent idempotent commands loading with snapshots as the pool allows, and more', async () => {
    const store = await stores.create({ poolSize: 10, connectionTimeoutMs });
    const problems: unknown[] = [];
    // A snapshot load that fails is reported and the state folded from the events: heard here.
    const snapshots: SnapshotOptions<number> = {
      store: createPostgresSnapshotStore({ store }),
      version: 1,
      onError: (error) => void problems.push(error),
    };
    const keys = createPostgresIdempotencyKeyStore();
    let attempts = 0;
    const outcomes = await Promise.allSettled(
      Array.from({ length: 30 }, (_, i) =>
        runIdempotent(store, keys, { scope: 'test', key: `key-${i}`, request: { i } }, async (tx) => {
          attempts++;
          const { state, version } = await loadAggregate(tx, `counter-c${i}`, counter, { snapshots });
          await tx.appendToStream(`counter-c${i}`, [{ type: 'counter.added', data: { amount: i } }], { expectedVersion: version });
          return state + i;
        }),
      ),
    );
    const failures = outcomes.filter((outcome) => outcome.status === 'rejected');
    expect(failures.map((failure) => String((failure as PromiseRejectedResult).reason))).toEqual([]);
    // Each ran once: none starved for a connection (and was retried after connectionTimeoutMs).
    expect(attempts).toBe(30);
    expect(problems.map(String)).toEqual([]);
  });
});
