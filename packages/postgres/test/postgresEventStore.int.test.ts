import {
  ConcurrencyError,
  DuplicateEventIdError,
  NestedStoreCallError,
  newId,
  PayloadTooLargeError,
  type RecordedEvent,
  ValidationError,
} from '@tidemark/core';
import { serviceAvailable } from '@tidemark/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { maxEventsPerTransaction, type PostgresTransaction } from '../src/index.js';
import { createStoreFactory } from './testSchemas.js';

const available = await serviceAvailable('postgres');

async function collect(iterable: AsyncIterable<RecordedEvent>): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for await (const event of iterable) events.push(event);
  return events;
}

describe.skipIf(!available)('PostgreSQL event store', () => {
  const stores = createStoreFactory();
  afterEach(() => stores.cleanup());

  it('answers queries on committed data outside any transaction', async () => {
    const store = await stores.create();
    const table = `"${store.schema}".notes`;
    await store.transaction((tx) => tx.sql.execute(`CREATE TABLE ${table} (id serial PRIMARY KEY, text text NOT NULL)`));
    await store.transaction((tx) => tx.sql.execute(`INSERT INTO ${table} (text) VALUES ($1)`, ['committed']));
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let inside!: () => void;
    const entered = new Promise<void>((resolve) => {
      inside = resolve;
    });
    const writer = store.transaction(async (tx) => {
      await tx.sql.execute(`INSERT INTO ${table} (text) VALUES ($1)`, ['uncommitted']);
      inside();
      await held;
      // From the transaction's own work it would read around the transaction: refused, like every store call.
      await expect(store.queries.query('SELECT 1')).rejects.toBeInstanceOf(NestedStoreCallError);
    });
    await entered;
    expect(await store.queries.query(`SELECT text FROM ${table} ORDER BY id`)).toEqual([{ text: 'committed' }]);
    release();
    await writer;
    expect(await store.queries.query(`SELECT count(*)::int AS n FROM ${table} WHERE id > $1`, [0])).toEqual([{ n: 2 }]);
  });

  it('appends and reads a stream back with versions, positions and dates', async () => {
    const store = await stores.create();
    const first = await store.appendToStream('account-1', [{ type: 'opened', data: { owner: 'ann' } }], { expectedVersion: 'no_stream' });
    const second = await store.appendToStream(
      'account-1',
      [
        { type: 'deposited', data: { amount: 5 } },
        { type: 'deposited', data: { amount: 7 }, metadata: { userId: 'u1' } },
      ],
      { expectedVersion: 1 },
    );
    expect(first).toMatchObject({ nextExpectedVersion: 1, written: true });
    expect(second.nextExpectedVersion).toBe(3);
    expect(second.position).toBeGreaterThan(first.position);
    const events = await store.readStream('account-1');
    expect(events.map((e) => [e.version, e.type, e.data])).toEqual([
      [1, 'opened', { owner: 'ann' }],
      [2, 'deposited', { amount: 5 }],
      [3, 'deposited', { amount: 7 }],
    ]);
    expect(events[2]?.metadata).toEqual({ userId: 'u1' });
    expect(events[0]?.recordedAt).toBeInstanceOf(Date);
    expect(events.map((e) => e.position)).toEqual([first.position, ...second.events.map((e) => e.position)]);
    expect(typeof events[0]?.position).toBe('bigint');
    expect(await store.readStream('account-1', { direction: 'backwards', limit: 2 })).toHaveLength(2);
    expect((await store.readStream('account-1', { direction: 'backwards', from: 2 })).map((e) => e.version)).toEqual([2, 1]);
    expect(await store.headPosition()).toBe(second.position);
    expect(await store.streamExists('account-1')).toBe(true);
    expect(await store.streamExists('account-2')).toBe(false);
  });

  it('enforces expected versions in the database and keeps a transaction usable after a conflict', async () => {
    const store = await stores.create();
    await store.appendToStream('s-1', [{ type: 'a', data: {} }]);
    await expect(store.appendToStream('s-1', [{ type: 'b', data: {} }], { expectedVersion: 'no_stream' })).rejects.toMatchObject({
      code: 'concurrency',
      expected: 'no_stream',
      actual: 1,
    });
    await expect(store.appendToStream('s-2', [{ type: 'b', data: {} }], { expectedVersion: 'stream_exists' })).rejects.toBeInstanceOf(
      ConcurrencyError,
    );
    await store.transaction(async (tx) => {
      await expect(tx.appendToStream('s-1', [{ type: 'c', data: {} }], { expectedVersion: 5 })).rejects.toBeInstanceOf(ConcurrencyError);
      await tx.appendToStream('s-1', [{ type: 'd', data: {} }], { expectedVersion: 1 });
    });
    expect((await store.readStream('s-1')).map((e) => e.type)).toEqual(['a', 'd']);
  });

  it('treats an identical re-sent batch as a retry and any other reuse of an id as a duplicate', async () => {
    const store = await stores.create();
    const ids = [newId(), newId()];
    const batch = ids.map((id, i) => ({ id, type: 't', data: { i } }));
    const original = await store.appendToStream('r-1', batch);
    const retry = await store.appendToStream('r-1', batch, { expectedVersion: 'no_stream' });
    expect(retry).toEqual({ streamId: 'r-1', nextExpectedVersion: 2, position: original.position, written: false, events: [] });
    await expect(store.appendToStream('r-2', batch)).rejects.toBeInstanceOf(DuplicateEventIdError);
    await expect(store.appendToStream('r-1', [batch[1]!, batch[0]!])).rejects.toBeInstanceOf(DuplicateEventIdError);
    await expect(store.appendToStream('r-1', [batch[0]!, { id: newId(), type: 't', data: {} }])).rejects.toBeInstanceOf(
      DuplicateEventIdError,
    );
    expect(await store.readStream('r-1')).toHaveLength(2);
  });

  it('rolls a transaction back as a whole, runs its callbacks, and rolls back only the append whose hook throws', async () => {
    const store = await stores.create();
    const calls: string[] = [];
    await expect(
      store.transaction(async (tx) => {
        tx.afterCommit(() => calls.push('commit'));
        tx.afterRollback(() => calls.push('rollback'));
        await tx.appendToStream('t-1', [{ type: 'a', data: {} }]);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(calls).toEqual(['rollback']);
    expect(await store.streamExists('t-1')).toBe(false);

    store.addAppendHook(async (events, tx) => {
      if (events.some((e) => e.type === 'bad')) throw new Error('hook refused');
      await tx.sql.execute(`CREATE TABLE IF NOT EXISTS "${store.schema}".hook_log (id uuid primary key)`);
      await tx.sql.execute(`INSERT INTO "${store.schema}".hook_log VALUES ($1)`, [events[0]?.id]);
    });
    await store.transaction(async (tx) => {
      await tx.appendToStream('t-2', [{ type: 'good', data: {} }]);
      await expect(tx.appendToStream('t-2', [{ type: 'bad', data: {} }])).rejects.toThrow('hook refused');
      await tx.appendToStream('t-2', [{ type: 'good', data: { again: true } }], { expectedVersion: 1 });
    });
    const events = await store.readStream('t-2');
    expect(events.map((e) => e.type)).toEqual(['good', 'good']);
    const logged = await store.pool.query(`SELECT count(*)::int AS n FROM "${store.schema}".hook_log`);
    expect(logged.rows[0].n).toBe(2);
  });

  it('reads the whole log in pages, filtered by type and category in SQL', async () => {
    const store = await stores.create();
    for (let i = 0; i < 25; i++) {
      await store.appendToStream(i % 2 ? `order-${i}` : `cart-${i}`, [{ type: i % 3 ? 'x' : 'y', data: { i } }]);
    }
    const all = await collect(store.readAll({ batchSize: 4 }));
    expect(all.map((e) => e.data)).toEqual(Array.from({ length: 25 }, (_, i) => ({ i })));
    const orders = await collect(store.readAll({ categories: ['order'], batchSize: 3 }));
    expect(orders).toHaveLength(12);
    const ys = await collect(store.readAll({ types: ['y'], categories: ['cart'] }));
    expect(ys.map((e) => (e.data as { i: number }).i)).toEqual([0, 6, 12, 18, 24]);
    const tail = await collect(store.readAll({ after: all[19]!.position, limit: 3 }));
    expect(tail.map((e) => e.position)).toEqual(all.slice(20, 23).map((e) => e.position));
  });

  it('aggregates up to a version and as of a time', async () => {
    let now = new Date('2026-01-01T00:00:00.000Z');
    const store = await stores.create({ clock: { now: () => now } });
    for (let i = 1; i <= 5; i++) {
      await store.appendToStream('acc-1', [{ type: 'deposited', data: { amount: i } }]);
      now = new Date(now.getTime() + 1000);
    }
    const evolver = { initialState: () => 0, evolve: (sum: number, e: { data: unknown }) => sum + (e.data as { amount: number }).amount };
    expect(await store.aggregateStream('acc-1', evolver)).toEqual({ state: 15, version: 5, exists: true });
    expect(await store.aggregateStream('acc-1', evolver, { upToVersion: 2 })).toEqual({ state: 3, version: 2, exists: true });
    expect(await store.aggregateStream('acc-1', evolver, { asOf: new Date('2026-01-01T00:00:02.000Z') })).toEqual({
      state: 6,
      version: 3,
      exists: true,
    });
    expect(await store.aggregateStream('nope', evolver)).toEqual({ state: 0, version: 0, exists: false });
  });

  it('reports a transaction whose failed statement was caught as rolled back, not committed', async () => {
    const store = await stores.create();
    const rolledBack: string[] = [];
    await expect(
      store.transaction(async (tx) => {
        tx.afterRollback(() => rolledBack.push('rollback'));
        await tx.appendToStream('x-1', [{ type: 't', data: {} }]);
        await tx.sql.execute('SELECT * FROM no_such_table').catch(() => undefined);
      }),
    ).rejects.toThrow(/rolled back/);
    expect(rolledBack).toEqual(['rollback']);
    expect(await store.streamExists('x-1')).toBe(false);
    let leaked: PostgresTransaction | undefined;
    await store.transaction(async (tx) => {
      leaked = tx;
    });
    await expect(leaked!.appendToStream('x-2', [{ type: 't', data: {} }])).rejects.toBeInstanceOf(ValidationError);
  });

  it('caps an append at 2^20 events with a typed error before writing', async () => {
    const store = await stores.create();
    const events = Array.from({ length: maxEventsPerTransaction + 1 }, () => ({ type: 't', data: 0 }));
    await expect(store.appendToStream('big-1', events)).rejects.toBeInstanceOf(PayloadTooLargeError);
    expect(await store.streamExists('big-1')).toBe(false);
  });

  it('refuses to work after close', async () => {
    const store = await stores.create();
    await store.close();
    await expect(store.appendToStream('a', [{ type: 't', data: {} }])).rejects.toBeInstanceOf(ValidationError);
  });
});
