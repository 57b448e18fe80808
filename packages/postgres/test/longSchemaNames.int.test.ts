import { randomBytes } from 'node:crypto';
import type { RecordedEvent } from '@tidemark/core';
import { serviceAvailable, serviceUrls } from '@tidemark/testing';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createPostgresSnapshotStore, type PostgresEventStore } from '../src/index.js';
import { createStoreFactory } from './testSchemas.js';

const available = await serviceAvailable('postgres');

async function collect(iterable: AsyncIterable<RecordedEvent>): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for await (const event of iterable) events.push(event);
  return events;
}

/** A schema name of exactly 63 bytes (the longest valid one) ending in `tail`. */
function longSchemaName(tail: string): string {
  const head = `fixpg_long_${randomBytes(6).toString('hex')}_`;
  return head + 'x'.repeat(63 - head.length - tail.length) + tail;
}

/** Every statement the store prepares once per connection, each used twice (the second run reuses the prepared one). */
async function exercise(store: PostgresEventStore, stream: string): Promise<void> {
  for (let round = 0; round < 2; round++) {
    await store.appendToStream(stream, [{ type: 'opened', data: { round } }]);
    await store.appendToStream(stream, [
      { type: 'noted', data: { round } },
      { type: 'noted', data: { round } },
    ]);
    await store.transaction((tx) => tx.appendToStream(stream, [{ type: 'closed', data: { round } }]));
    expect((await store.readStream(stream)).map((event) => event.version)).toEqual(
      Array.from({ length: 4 * (round + 1) }, (_, i) => i + 1),
    );
    expect((await store.readStream(stream, { direction: 'backwards', limit: 2 })).map((event) => event.version)).toEqual([
      4 * (round + 1),
      4 * (round + 1) - 1,
    ]);
    expect(await store.streamExists(stream)).toBe(true);
    expect(await store.streamExists(`${stream}0`)).toBe(false);
    expect(await store.headPosition()).toBeGreaterThan(0n);
  }
}

describe.skipIf(!available)('PostgreSQL store on a 63-byte schema name', () => {
  const stores = createStoreFactory();
  const pools: pg.Pool[] = [];
  afterEach(async () => {
    await stores.cleanup();
    await Promise.all(pools.splice(0).map((pool) => pool.end()));
  });

  it('appends, reads both ways, checks existence, reads the log and keeps snapshots', async () => {
    const store = await stores.create({ schema: longSchemaName('a'), poolSize: 1 });
    expect(Buffer.byteLength(store.schema)).toBe(63);
    await exercise(store, 'acct-1');
    await store.appendToStream('other-1', [{ type: 'opened', data: {} }]);

    const all = await collect(store.readAll());
    expect(all).toHaveLength(9);
    expect((await collect(store.readAll({ categories: ['acct'] }))).length).toBe(8);
    expect((await collect(store.readAll({ categories: ['acct', 'other'], types: ['opened'] }))).length).toBe(3);
    const page = await store.readPage({ limit: 100, types: ['noted', 'closed'] });
    expect(page.events).toHaveLength(6);

    const snapshots = createPostgresSnapshotStore({ store });
    const last = all.filter((event) => event.streamId === 'acct-1').at(-1) as RecordedEvent;
    const snapshot = {
      streamId: 'acct-1',
      name: 'balance',
      streamVersion: last.version,
      position: last.position,
      recordedAt: last.recordedAt,
      schemaVersion: 1,
      payload: new Uint8Array([1, 2, 3]),
    };
    await snapshots.save(snapshot);
    await snapshots.save({ ...snapshot, payload: new Uint8Array([4]) });
    expect((await snapshots.load('acct-1', 'balance'))?.payload).toEqual(Buffer.from([4]));
    expect((await snapshots.load('acct-1', 'balance'))?.streamVersion).toBe(8);
    await snapshots.deleteStream('acct-1');
    await snapshots.deleteStream('acct-1');
    expect(await snapshots.load('acct-1', 'balance')).toBeUndefined();
  });

  it('keeps the statements of two long schemas apart on one shared connection', async () => {
    // Equal in their first 62 bytes: truncated statement names of the two would be the same.
    const first = longSchemaName('a');
    const second = `${first.slice(0, 62)}b`;
    const pool = new pg.Pool({ connectionString: serviceUrls.postgres, max: 1 });
    pools.push(pool);
    const a = await stores.create({ schema: first, pool });
    const b = await stores.create({ schema: second, pool });
    await exercise(a, 'acct-a');
    await exercise(b, 'acct-b');
    expect((await collect(a.readAll())).map((event) => event.streamId)).toEqual(Array(8).fill('acct-a'));
    expect((await collect(b.readAll())).map((event) => event.streamId)).toEqual(Array(8).fill('acct-b'));
    expect(await a.streamExists('acct-b')).toBe(false);
  });
});
