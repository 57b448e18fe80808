import { randomUUID } from 'node:crypto';
import {
  createInMemoryTransport,
  createOutboxRelay,
  createProjector,
  type EventStore,
  type OutgoingMessage,
  type Projection,
  subscribe,
  type Transport,
} from '@tidemark/core';
import { serviceAvailable, serviceUrls, waitFor } from '@tidemark/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createPostgresCheckpointStore,
  createPostgresLease,
  createPostgresOutbox,
  createPostgresSnapshotStore,
  type PostgresEventStore,
  type PostgresTransaction,
} from '../src/index.js';
import { type PgbouncerProcess, pgbouncerInstalled, startPgbouncer } from './pgbouncerProcess.js';
import { createStoreFactory } from './testSchemas.js';

const available = (await serviceAvailable('postgres')) && pgbouncerInstalled();

/**
 * How long after `writer`'s append a subscription of `reader` that polls once a minute sees it:
 * only a notification can bring it within the test's time. A transaction elsewhere on the
 * shared server may hold the event back a while, hence the generous limit.
 */
async function wakeUpOf(writer: EventStore, reader: EventStore, limitMs = 20_000): Promise<boolean> {
  // The reader's LISTEN connection opens with its first onAppended listener and wakes it once
  // LISTEN is in force (for what it may have missed): that wake must not be taken for the append's.
  let listening: () => void = () => {};
  const inForce = new Promise<void>((resolve) => {
    listening = resolve;
  });
  const unsubscribe = reader.onAppended(() => listening());
  await inForce;
  unsubscribe();
  const controller = new AbortController();
  const streamId = `live-${randomUUID()}`;
  let caughtUp: () => void = () => {};
  const reachedHead = new Promise<void>((resolve) => {
    caughtUp = resolve;
  });
  let seen = false;
  const iteration = (async () => {
    for await (const batch of subscribe(reader, {
      after: await reader.headPosition(),
      pollIntervalMs: 60_000,
      signal: controller.signal,
    })) {
      if (batch.caughtUp) caughtUp();
      if (batch.events.some((event) => event.streamId === streamId)) seen = true;
    }
  })();
  try {
    await reachedHead;
    await writer.appendToStream(streamId, [{ type: 'test.live', data: {} }]);
    await waitFor(() => seen, 'the reader to see the other instance’s append', limitMs).catch(() => {});
    return seen;
  } finally {
    controller.abort();
    await iteration;
  }
}

/** A projection counting events, written in a table of the store's schema. */
function countingProjection(schema: string): Projection<PostgresTransaction> {
  const table = `${schema}.counted`;
  return {
    name: 'counted',
    tables: [table],
    async setup(tx, tables) {
      await tx.sql.execute(`CREATE TABLE IF NOT EXISTS ${tables.name(table)} (id integer PRIMARY KEY, n bigint NOT NULL)`);
    },
    async apply(events, tx, tables) {
      await tx.sql.execute(
        `INSERT INTO ${tables.name(table)} AS c (id, n) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET n = c.n + excluded.n`,
        [events.length],
      );
    },
  };
}

describe.skipIf(!available)('PostgreSQL store behind PgBouncer', () => {
  const stores = createStoreFactory();
  const bouncers: PgbouncerProcess[] = [];
  let transactionMode: PgbouncerProcess;
  let sessionMode: PgbouncerProcess;
  beforeAll(async () => {
    transactionMode = await startPgbouncer('transaction');
    bouncers.push(transactionMode);
    sessionMode = await startPgbouncer('session');
    bouncers.push(sessionMode);
  });
  afterAll(async () => {
    await stores.cleanup();
    for (const bouncer of bouncers) await bouncer.stop();
  });

  it('transaction mode with preparedStatements: false: migrations, appends, reads, queries, snapshots, a leased projector and the outbox relay work', async () => {
    const store: PostgresEventStore = await stores.create({ url: transactionMode.url, preparedStatements: false });
    const schema = store.schema;
    // A second instance on the same pooler: named statements of one would collide with the other's on shared server connections.
    const other = await stores.create({ url: transactionMode.url, schema, preparedStatements: false });

    await Promise.all(Array.from({ length: 20 }, (_, i) => store.appendToStream(`s-${i % 3}`, [{ type: 'test.added', data: { i } }])));
    await other.transaction(async (tx) => {
      await tx.appendToStream('s-0', [{ type: 'test.added', data: {} }]);
      await tx.appendToStream('t-1', [{ type: 'test.added', data: {} }]);
    });
    expect(await other.readStream('s-0')).toHaveLength(8);
    expect((await store.aggregateStream('s-0', { initialState: () => 0, evolve: (n: number) => n + 1 })).state).toBe(8);
    const written = await store.appendToStream('s-1', [{ type: 'test.added', data: {} }]);
    await waitFor(async () => (await other.headPosition()) >= written.position, 'the appends to be readable', 20_000);
    const page = await other.readPage({ after: 0n, limit: 100 });
    expect(page.events).toHaveLength(23);
    expect(await store.queries.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema}.events`)).toEqual([{ n: 23 }]);

    const snapshots = createPostgresSnapshotStore({ store: other });
    const snapshot = {
      streamId: 's-0',
      name: 'count',
      streamVersion: 8,
      position: written.position,
      recordedAt: new Date(),
      schemaVersion: 1,
    };
    await snapshots.save({ ...snapshot, payload: new Uint8Array([1, 2, 3]) });
    expect((await snapshots.load('s-0', 'count'))?.streamVersion).toBe(8);

    const projector = createProjector({
      store: other,
      projection: countingProjection(schema),
      checkpoints: createPostgresCheckpointStore(),
      lease: createPostgresLease({ url: transactionMode.url, name: 'counted', schema }),
      pollIntervalMs: 50,
    });
    await projector.start();
    try {
      expect(await projector.waitForPosition(written.position, { timeoutMs: 20_000 })).toBe(true);
    } finally {
      await projector.stop();
    }
    expect(await other.queries.query<{ n: string }>(`SELECT n::text FROM ${schema}.counted`)).toEqual([{ n: '23' }]);

    const outbox = createPostgresOutbox();
    const published: OutgoingMessage[] = [];
    const transport: Transport = {
      ...createInMemoryTransport(),
      async publish(messages) {
        published.push(...messages);
      },
    };
    const relay = createOutboxRelay({ name: 'relay', store, transport, source: { kind: 'table', outbox }, pollIntervalMs: 50 });
    await relay.start();
    try {
      await other.transaction((tx) => outbox.add(tx, [{ id: randomUUID(), type: 'test.sent', schemaVersion: 1, key: 'k', data: {} }]));
      await waitFor(() => published.length === 1, 'the relay to publish the message', 20_000);
    } finally {
      await relay.stop();
    }
  });

  it('transaction mode: with listenUrl on the server itself, another instance’s append wakes a reader without its poll', async () => {
    const writer = await stores.create({ url: transactionMode.url, preparedStatements: false });
    // LISTEN through the pooler would be accepted and never deliver: the reader would wait for its poll.
    const reader = await stores.create({
      url: transactionMode.url,
      schema: writer.schema,
      preparedStatements: false,
      listenUrl: serviceUrls.postgres,
    });
    expect(await wakeUpOf(writer, reader)).toBe(true);
  });

  it('session mode, with the default options: LISTEN through the pooler wakes another instance’s reader', async () => {
    const writer = await stores.create({ url: sessionMode.url });
    const reader = await stores.create({ url: sessionMode.url, schema: writer.schema });
    expect(await wakeUpOf(writer, reader)).toBe(true);
  });
});
