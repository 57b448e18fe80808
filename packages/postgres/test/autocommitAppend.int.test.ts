import { ConcurrencyError, newId, type RecordedEvent } from '@tidemark/core';
import { serviceAvailable, serviceUrls, waitFor } from '@tidemark/testing';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import type { PostgresEventStore } from '../src/index.js';
import { createStoreFactory } from './testSchemas.js';

const available = await serviceAvailable('postgres');

async function collect(iterable: AsyncIterable<RecordedEvent>): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for await (const event of iterable) events.push(event);
  return events;
}

/** Names of the statements prepared on the store's connection (a pool of one). */
async function preparedStatements(store: PostgresEventStore): Promise<string[]> {
  const result = await store.pool.query<{ name: string }>('SELECT name FROM pg_prepared_statements ORDER BY name');
  return result.rows.map((row) => row.name);
}

/**
 * Resolves once `count` sessions running a statement on this schema wait for a lock of this
 * kind (other test files may be waiting for locks of their own meanwhile).
 */
function lockWaiters(client: pg.Client, schema: string, locktype: 'transactionid' | 'advisory', count = 1): Promise<void> {
  return waitFor(
    async () => {
      const result = await client.query(
        `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
          WHERE NOT l.granted AND l.locktype = $1 AND strpos(a.query, $2) > 0`,
        [locktype, `"${schema}".`],
      );
      return result.rows[0].n >= count;
    },
    `${count} session(s) waiting for a ${locktype} lock`,
    10_000,
  );
}

describe.skipIf(!available)('PostgreSQL autocommit append (one statement)', () => {
  const stores = createStoreFactory();
  const clients: pg.Client[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.end()));
    await stores.cleanup();
  });
  const rawClient = async () => {
    const client = new pg.Client({ connectionString: serviceUrls.postgres });
    await client.connect();
    clients.push(client);
    return client;
  };

  it('runs outside transactions as one statement, and through the function for supplied ids and in transactions', async () => {
    const store = await stores.create({ poolSize: 1 });
    const prefix = `tidemark:${store.schema}`;
    await store.appendToStream('p-1', [{ type: 'a', data: {} }]);
    await store.appendToStream(
      'p-1',
      [
        { type: 'b', data: {} },
        { type: 'c', data: {} },
      ],
      { expectedVersion: 1 },
    );
    expect(await preparedStatements(store)).toEqual([`${prefix}:append1`, `${prefix}:appendN`]);
    // Caller-supplied ids need the function's idempotency check.
    await store.appendToStream('p-2', [{ id: newId(), type: 'a', data: {} }]);
    expect(await preparedStatements(store)).toContain(prefix);
    const events = await store.readStream('p-1');
    expect(events.map((e) => [e.version, e.type])).toEqual([
      [1, 'a'],
      [2, 'b'],
      [3, 'c'],
    ]);
    expect(events[2]!.position).toBe(events[1]!.position + 1n);
    expect(events[1]!.position).toBeGreaterThan(events[0]!.position);
  });

  it('16 concurrent appenders on one stream, expected versions from their own reads: contiguous versions in position order, nothing lost or doubled', async () => {
    const store = await stores.create({ poolSize: 8 });
    const stream = 'hot-1';
    const perWriter = 12;
    let conflicts = 0;
    const writers = Array.from({ length: 16 }, async (_, w) => {
      for (let i = 0; i < perWriter; ) {
        const head = (await store.readStream(stream, { direction: 'backwards', limit: 1 }))[0]?.version ?? 0;
        const size = (w + i) % 4 === 0 ? 2 : 1;
        const events = Array.from({ length: size }, (_, j) => ({ type: 'tick', data: { w, i, j } }));
        try {
          // A few go through an explicit transaction (the function), racing the single statements.
          if ((w + i) % 5 === 0) {
            await store.transaction((tx) => tx.appendToStream(stream, events, { expectedVersion: head === 0 ? 'no_stream' : head }));
          } else {
            await store.appendToStream(stream, events, { expectedVersion: head === 0 ? 'no_stream' : head });
          }
          i++;
        } catch (error) {
          if (!(error instanceof ConcurrencyError)) throw error;
          conflicts++;
        }
      }
    });
    await Promise.all(writers);

    const events = await store.readStream(stream);
    const expectedCount = Array.from({ length: 16 }, (_, w) =>
      Array.from({ length: perWriter }, (_, i) => ((w + i) % 4 === 0 ? 2 : 1)).reduce((a, b) => a + b, 0),
    ).reduce((a, b) => a + b, 0);
    expect(events).toHaveLength(expectedCount);
    expect(events.map((e) => e.version)).toEqual(Array.from({ length: expectedCount }, (_, k) => k + 1));
    for (let k = 1; k < events.length; k++) expect(events[k]!.position).toBeGreaterThan(events[k - 1]!.position);
    expect(new Set(events.map((e) => e.id)).size).toBe(expectedCount);
    const written = new Set(events.map((e) => JSON.stringify(e.data)));
    expect(written.size).toBe(expectedCount);
    // The global log holds the stream in the same order.
    expect((await collect(store.readAll())).map((e) => e.id)).toEqual(events.map((e) => e.id));
    // Sixteen writers on one stream with four connections between them do collide.
    expect(conflicts).toBeGreaterThan(0);
  }, 60_000);

  it('maps a version taken by a concurrent writer (a unique violation) to ConcurrencyError, and lets an `any` append follow it', async () => {
    const store = await stores.create();
    const other = await rawClient();
    const observer = await rawClient();
    // A writer outside the store inserts version 1 and holds it uncommitted: no advisory lock,
    // so the statement meets the row in the unique index, waits for it, and is refused.
    const rivalRow = (stream: string) =>
      other.query(
        `INSERT INTO "${store.schema}".events (position, id, stream_id, version, type, schema_version, data, metadata, recorded_at)
         VALUES (pg_current_xact_id()::text::bigint << 20, $1, $2, 1, 'rival', 1, '{}', '{}', now())`,
        [newId(), stream],
      );

    await other.query('BEGIN');
    await rivalRow('race-1');
    const exact = store.appendToStream('race-1', [{ type: 'mine', data: {} }], { expectedVersion: 'no_stream' }).then(
      () => 'written',
      (error: unknown) => error,
    );
    await lockWaiters(observer, store.schema, 'transactionid');
    await other.query('COMMIT');
    const error = await exact;
    expect(error).toBeInstanceOf(ConcurrencyError);
    expect(error).toMatchObject({ code: 'concurrency', expected: 'no_stream', actual: 1 });

    await other.query('BEGIN');
    await rivalRow('race-2');
    const any = store.appendToStream('race-2', [{ type: 'mine', data: {} }]);
    await lockWaiters(observer, store.schema, 'transactionid');
    await other.query('COMMIT');
    expect(await any).toMatchObject({ nextExpectedVersion: 2, written: true });
    const events = await store.readStream('race-2');
    expect(events.map((e) => e.type)).toEqual(['rival', 'mine']);
    expect(events[1]!.position).toBeGreaterThan(events[0]!.position);
  });

  it('waits for a transaction appending to the same stream, then appends after it or reports the conflict', async () => {
    // One statement per append, so that both wait on the lock (group commit would send them as one).
    const store = await stores.create({ groupCommit: false });
    const observer = await rawClient();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let appended!: () => void;
    const inTransaction = new Promise<void>((resolve) => {
      appended = resolve;
    });
    const slow = store.transaction(async (tx) => {
      await tx.appendToStream('mix-1', [{ type: 'first', data: {} }]);
      appended();
      await gate;
    });
    await inTransaction;
    const any = store.appendToStream('mix-1', [{ type: 'second', data: {} }]);
    const exact = store.appendToStream('mix-1', [{ type: 'never', data: {} }], { expectedVersion: 'no_stream' }).then(
      () => 'written',
      (error: unknown) => error,
    );
    await lockWaiters(observer, store.schema, 'advisory', 2);
    release();
    await slow;
    expect(await any).toMatchObject({ nextExpectedVersion: 2, written: true });
    expect(await exact).toBeInstanceOf(ConcurrencyError);
    const events = await store.readStream('mix-1');
    expect(events.map((e) => e.type)).toEqual(['first', 'second']);
    expect(events[1]!.position).toBeGreaterThan(events[0]!.position);
  });
});
