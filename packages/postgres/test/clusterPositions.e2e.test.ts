import { createInMemoryCheckpointStore, createProjector, type RecordedEvent } from '@tidemark/core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresEventStore, PositionsRebaseRequiredError, type PostgresEventStore, rebasePositions } from '../src/index.js';
import { copySchema, startThrowawayCluster, type ThrowawayCluster, throwawayClustersAvailable } from './throwawayCluster.js';

const available = throwawayClustersAvailable();

async function collect(iterable: AsyncIterable<RecordedEvent>): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for await (const event of iterable) events.push(event);
  return events;
}

/** A few appends of every shape: a batch, single events, two streams in one transaction. */
async function writeHistory(store: PostgresEventStore): Promise<bigint[]> {
  const positions: bigint[] = [];
  const batch = await store.appendToStream(
    'account-1',
    Array.from({ length: 5 }, (_, i) => ({ type: 'deposited', data: { i } })),
  );
  positions.push(...batch.events.map((event) => event.position));
  for (let i = 0; i < 3; i++) positions.push((await store.appendToStream(`account-${i + 2}`, [{ type: 'opened', data: { i } }])).position);
  await store.transaction(async (tx) => {
    positions.push((await tx.appendToStream('account-1', [{ type: 'deposited', data: { i: 5 } }])).position);
    positions.push((await tx.appendToStream('account-2', [{ type: 'deposited', data: { i: 6 } }])).position);
  });
  return positions;
}

/** Every position readAll gives is accepted back as `after`, and resumes exactly after it. */
async function expectResumableEverywhere(store: PostgresEventStore, all: readonly RecordedEvent[]): Promise<void> {
  for (const [i, event] of all.entries()) {
    expect((await collect(store.readAll({ after: event.position }))).map((e) => e.id)).toEqual(all.slice(i + 1).map((e) => e.id));
  }
}

describe.skipIf(!available)('PostgreSQL positions on clusters past the first xid epochs (throwaway clusters)', () => {
  const clusters: ThrowawayCluster[] = [];
  const stores: PostgresEventStore[] = [];
  afterAll(async () => {
    await Promise.allSettled(stores.map((store) => store.close()));
    for (const cluster of clusters) cluster.stop();
  });
  const cluster = async (epoch?: number) => {
    const started = await startThrowawayCluster(epoch === undefined ? {} : { epoch });
    clusters.push(started);
    return started;
  };
  const open = async (url: string, schema = 'shop') => {
    const store = await createPostgresEventStore({ url, schema, poolSize: 3, createSchema: true });
    stores.push(store);
    return store;
  };

  // Epoch 5: xid8 past 2^33, positions past 2^53. Epoch 2000: xid8 + offset near the 2^43 bound.
  it.each([5, 2000])('gives exact, strictly increasing positions after epoch %i, and readAll accepts every one of them', async (epoch) => {
    const { url } = await cluster(epoch);
    const store = await open(url);
    const positions = await writeHistory(store);
    expect(new Set(positions).size).toBe(positions.length);
    expect(positions[0]).toBeGreaterThan(2n ** 53n);
    expect(positions[0]! >> 20n).toBeGreaterThanOrEqual(BigInt(epoch) << 32n);
    for (let i = 1; i < positions.length; i++) expect(positions[i]).toBeGreaterThan(positions[i - 1]!);

    const all = await collect(store.readAll());
    expect(all.map((event) => event.position)).toEqual(positions);
    expect(await store.headPosition()).toBe(positions.at(-1));
    // Per-stream reads and folds carry the same exact positions.
    const stream = await store.readStream('account-1');
    expect(stream.map((event) => event.position)).toEqual(all.filter((e) => e.streamId === 'account-1').map((e) => e.position));
    await expectResumableEverywhere(store, all);
  });

  describe('a store moved to a cluster with lower transaction ids (pg_dump | psql)', () => {
    let before: RecordedEvent[];
    let target: ThrowawayCluster;

    beforeAll(async () => {
      const source = await cluster(5);
      const original = await open(source.url);
      await writeHistory(original);
      before = await collect(original.readAll());
      await original.close();
      target = await cluster();
      copySchema(source, target, 'shop');
    });

    it('refuses a role that may not rebase, with a typed error naming the fix', async () => {
      const admin = new pg.Client({ connectionString: target.url });
      await admin.connect();
      try {
        await admin.query(`CREATE ROLE reader LOGIN;
          GRANT USAGE ON SCHEMA shop TO reader;
          GRANT SELECT ON ALL TABLES IN SCHEMA shop TO reader`);
      } finally {
        await admin.end();
      }
      const pool = new pg.Pool({ connectionString: target.url.replace('postgres@', 'reader@'), max: 2 });
      try {
        const error = await rebasePositions(pool, 'shop').catch((e: unknown) => e);
        expect(error).toBeInstanceOf(PositionsRebaseRequiredError);
        expect(error).toMatchObject({ code: 'positions_rebase_required', details: { schema: 'shop' } });
        expect((error as Error).message).toContain('tidemark migrate');
      } finally {
        await pool.end();
      }
    });

    it('reads the whole history again, projectors see all of it, and appends to existing streams sort after it', async () => {
      const store = await open(target.url);
      const after = await collect(store.readAll());
      expect(after).toEqual(before);
      expect(await store.headPosition()).toBe(before.at(-1)?.position);

      const seen: RecordedEvent[] = [];
      const projector = createProjector({
        store,
        projection: {
          name: 'all',
          async apply(events) {
            seen.push(...events);
          },
        },
        checkpoints: createInMemoryCheckpointStore(),
        pollIntervalMs: 50,
      });
      await projector.start();
      try {
        expect(await projector.waitForPosition(before.at(-1)!.position, { timeoutMs: 10_000 })).toBe(true);
        expect(seen.map((e) => e.id)).toEqual(before.map((e) => e.id));

        const versionBefore = (await store.readStream('account-1')).length;
        const appended = await store.appendToStream('account-1', [{ type: 'deposited', data: { i: 7 } }], {
          expectedVersion: versionBefore,
        });
        const inTransaction = await store.transaction((tx) => tx.appendToStream('account-2', [{ type: 'closed', data: {} }]));
        expect(appended.position).toBeGreaterThan(before.at(-1)!.position);
        expect(inTransaction.position).toBeGreaterThan(appended.position);
        expect(await projector.waitForPosition(inTransaction.position, { timeoutMs: 10_000 })).toBe(true);
        expect(seen.slice(before.length).map((e) => e.position)).toEqual([appended.position, inTransaction.position]);
      } finally {
        await projector.stop();
      }
      const all = await collect(store.readAll());
      expect(all.slice(0, before.length)).toEqual(before);
      await expectResumableEverywhere(store, all);
    });

    it('rebases once: a second store opening the moved schema changes nothing', async () => {
      const first = await open(target.url);
      const offset = async () =>
        (await first.pool.query<{ xid_offset: string }>('SELECT xid_offset FROM shop.position_offset')).rows[0]?.xid_offset;
      const rebased = await offset();
      expect(BigInt(rebased ?? 0)).toBeGreaterThan(0n);
      await open(target.url);
      expect(await offset()).toBe(rebased);
    });
  });
});
