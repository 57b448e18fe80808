import { rmSync, symlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import {
  ConcurrencyError,
  type EventStore,
  NestedStoreCallError,
  type RecordedEvent,
  StoreBusyError,
  TidemarkError,
  ValidationError,
} from '@tidemark/core';
import { createSqliteEventStore, createSqliteOutbox, sqliteInsertEventSql } from '@tidemark/sqlite';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { tempSqliteFiles } from './tempSqliteFiles.js';

const files = tempSqliteFiles();
afterAll(() => files.remove());

const placed = (n: number) => ({ type: 'order.placed', data: { n } });
async function readAllEvents(store: EventStore): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for await (const event of store.readAll()) events.push(event);
  return events;
}
const readAll = async (store: EventStore) => (await readAllEvents(store)).map((e) => (e.data as { n: number }).n);

describe('SQLite event store: the file', () => {
  it('opens with WAL, the chosen synchronous level, foreign keys and the busy timeout', async () => {
    for (const [synchronous, level] of [
      ['FULL', 2],
      ['NORMAL', 1],
    ] as const) {
      const store = createSqliteEventStore({ file: files.next(), synchronous, busyTimeoutMs: 1234 });
      await store.transaction(async (tx) => {
        expect(tx.db.pragma('journal_mode', { simple: true })).toBe('wal');
        expect(tx.db.pragma('synchronous', { simple: true })).toBe(level);
        expect(tx.db.pragma('foreign_keys', { simple: true })).toBe(1);
        expect(tx.db.pragma('busy_timeout', { simple: true })).toBe(1234);
      });
      await store.close();
    }
  });

  it("commits a 'relaxed' transaction with synchronous=NORMAL and puts FULL back for everything after it", async () => {
    const store = createSqliteEventStore({ file: files.next() });
    await store.transaction(async (tx) => expect(tx.db.pragma('synchronous', { simple: true })).toBe(1), { durability: 'relaxed' });
    // Also after a relaxed transaction that failed.
    await expect(
      store.transaction(
        async () => {
          throw new Error('boom');
        },
        { durability: 'relaxed' },
      ),
    ).rejects.toThrow('boom');
    await store.transaction(async (tx) => expect(tx.db.pragma('synchronous', { simple: true })).toBe(2));
    await store.close();
  });

  it('keeps every event across close and re-open, positions and times included', async () => {
    const file = files.next();
    const first = createSqliteEventStore({ file });
    await first.appendToStream('order-1', [placed(1), placed(2)]);
    await first.appendToStream('cart-1', [{ type: 'cart.opened', data: { at: new Date(0) }, metadata: { userId: 'u1' } }]);
    const before = await first.readStream('order-1');
    await first.close();
    const second = createSqliteEventStore({ file });
    expect(await second.readStream('order-1')).toEqual(before);
    expect(await second.headPosition()).toBe(3n);
    const [cart] = await second.readStream('cart-1');
    expect(cart).toMatchObject({ position: 3n, version: 1, data: { at: '1970-01-01T00:00:00.000Z' }, metadata: { userId: 'u1' } });
    const next = await second.appendToStream('order-1', [placed(3)], { expectedVersion: 2 });
    expect(next).toMatchObject({ nextExpectedVersion: 3, position: 4n });
    await second.close();
  });

  it('throws a typed error for every operation after close, and closing twice is harmless', async () => {
    const store = createSqliteEventStore({ file: files.next() });
    await store.close();
    await store.close();
    await expect(store.appendToStream('order-1', [placed(1)])).rejects.toBeInstanceOf(ValidationError);
    await expect(store.readStream('order-1')).rejects.toBeInstanceOf(ValidationError);
    await expect(store.headPosition()).rejects.toBeInstanceOf(ValidationError);
    await expect(store.transaction(async () => 1)).rejects.toBeInstanceOf(ValidationError);
    await expect(store.readAll()[Symbol.asyncIterator]().next()).rejects.toBeInstanceOf(ValidationError);
  });

  it('lets a transaction that is already running finish before close takes the connections away', async () => {
    const store = createSqliteEventStore({ file: files.next() });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const running = store.transaction(async (tx) => {
      await gate;
      return tx.appendToStream('order-1', [placed(1)]);
    });
    const closed = store.close();
    release();
    expect((await running).position).toBe(1n);
    await closed;
  });

  it('rejects unknown options with a typed error', () => {
    expect(() => createSqliteEventStore({ file: files.next(), synchronous: 'OFF' as 'FULL' })).toThrow(ValidationError);
    expect(() => createSqliteEventStore({ file: files.next(), busyTimeoutMs: -1 })).toThrow(ValidationError);
    // A NaN cap would be no cap at all (every size compares "not larger"); below 1 it refuses everything.
    for (const maxEventBytes of [Number.NaN, -1, 0.5, '1000' as unknown as number]) {
      expect(() => createSqliteEventStore({ file: files.next(), limits: { maxEventBytes } })).toThrow(ValidationError);
    }
    expect(() => createSqliteOutbox({ limits: { maxEventBytes: Number.NaN } })).toThrow(ValidationError);
  });

  it('backs the version check with a unique index that even raw writers cannot get past', async () => {
    const file = files.next();
    const store = createSqliteEventStore({ file });
    await store.appendToStream('order-1', [placed(1)]);
    const raw = new Database(file);
    const insert = raw.prepare(sqliteInsertEventSql);
    expect(() => insert.run('0190a5c4-0000-7000-8000-000000000001', 'order-1', 1, 'x', 1, '{}', '{}', 0)).toThrow(/UNIQUE.*stream_id/);
    raw.close();
    expect(await store.readStream('order-1')).toHaveLength(1);
    await store.close();
  });
});

describe('SQLite event store: two instances on one file (like two processes)', () => {
  it('each sees the other’s events and loses a race through the expected version', async () => {
    const file = files.next();
    const a = createSqliteEventStore({ file });
    const b = createSqliteEventStore({ file });
    await a.appendToStream('account-1', [placed(1)], { expectedVersion: 'no_stream' });
    expect((await b.readStream('account-1')).map((e) => e.data)).toEqual([{ n: 1 }]);
    // Both loaded version 1; b writes first, so a's decision is stale.
    await b.appendToStream('account-1', [placed(2)], { expectedVersion: 1 });
    const stale = a.appendToStream('account-1', [placed(3)], { expectedVersion: 1 });
    await expect(stale).rejects.toBeInstanceOf(ConcurrencyError);
    await expect(stale).rejects.toMatchObject({ actual: 2 });
    expect(await a.headPosition()).toBe(2n);
    const all: number[] = [];
    for await (const event of a.readAll()) all.push((event.data as { n: number }).n);
    expect(all).toEqual([1, 2]);
    await a.close();
    await b.close();
  });

  it('a second instance waits its turn behind the first one’s open transaction, without blocking the event loop', async () => {
    const file = files.next();
    // Through a symbolic link to the directory: the lock is keyed by the file's real path.
    const link = `${files.dir}-link`;
    symlinkSync(files.dir, link);
    const a = createSqliteEventStore({ file });
    const b = createSqliteEventStore({ file: join(link, basename(file)) });
    try {
      let release!: () => void;
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      let holding!: () => void;
      const held = new Promise<void>((resolve) => {
        holding = resolve;
      });
      const slow = a.transaction(async (tx) => {
        await tx.appendToStream('account-1', [placed(1)]);
        holding();
        await gate;
        return tx.appendToStream('account-1', [placed(2)]);
      });
      await held;
      // Before: b blocked the whole process synchronously on SQLite's lock for its busy
      // timeout, then failed with SQLITE_BUSY (a could never reach its COMMIT meanwhile).
      let settled = false;
      const append = b.appendToStream('account-2', [placed(3)]);
      const transaction = b.transaction((tx) => tx.appendToStream('account-3', [placed(4)]));
      void Promise.allSettled([append, transaction]).then(() => {
        settled = true;
      });
      const ranWhileOpen = await new Promise<boolean>((resolve) => setImmediate(() => resolve(!settled)));
      expect(ranWhileOpen).toBe(true);
      // The reader connection is not blocked by the writer, and sees nothing uncommitted.
      expect(await b.headPosition()).toBe(0n);
      release();
      const [first, second, third] = await Promise.all([slow, append, transaction]);
      // b's writes waited for a's commit: they come after it in the log.
      expect(second.position).toBeGreaterThan(first.position);
      expect(third.position).toBeGreaterThan(second.position);
      expect(await readAll(b)).toEqual([1, 2, 3, 4]);
    } finally {
      await a.close();
      await b.close();
      rmSync(link);
    }
  });

  it('interleaved transactions and appends of two instances on one file all complete, none with SQLITE_BUSY', async () => {
    const file = files.next();
    const stores = [createSqliteEventStore({ file }), createSqliteEventStore({ file })] as const;
    const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));
    const work = Array.from({ length: 40 }, async (_, i) => {
      const store = stores[i % 2] as (typeof stores)[number];
      if (i % 3 === 0) return store.appendToStream(`account-${i % 4}`, [placed(i)]);
      return store.transaction(async (tx) => {
        await yieldToLoop();
        await tx.appendToStream(`account-${i % 4}`, [placed(i)]);
        await yieldToLoop();
        return tx.appendToStream('audit-1', [placed(i)]);
      });
    });
    const outcomes = await Promise.allSettled(work);
    expect(outcomes.filter((o) => o.status === 'rejected')).toEqual([]);
    const events = await readAllEvents(stores[1]);
    expect(events).toHaveLength(40 + 26);
    for (let n = 0; n < 4; n++) {
      const versions = events.filter((e) => e.streamId === `account-${n}`).map((e) => e.version);
      expect(versions).toEqual(versions.map((_, i) => i + 1));
    }
    await stores[0].close();
    await stores[1].close();
  });

  it('refuses a call of the second instance inside the first one’s transaction: it would wait for it', async () => {
    const file = files.next();
    const a = createSqliteEventStore({ file });
    const b = createSqliteEventStore({ file });
    await a.transaction(async (tx) => {
      await tx.appendToStream('account-1', [placed(1)]);
      await expect(b.appendToStream('account-2', [placed(2)])).rejects.toBeInstanceOf(NestedStoreCallError);
      await expect(b.transaction(async () => {})).rejects.toBeInstanceOf(NestedStoreCallError);
    });
    expect(await readAll(b)).toEqual([1]);
    await a.close();
    await b.close();
  });

  it('a writer held off by another connection (another process) for its busy timeout fails with StoreBusyError and writes nothing', async () => {
    const file = files.next();
    const store = createSqliteEventStore({ file, busyTimeoutMs: 50 });
    await store.appendToStream('account-1', [placed(1)]);
    // A connection of its own, as another process has: it does not share this process's lock.
    const other = new Database(file);
    other.exec('BEGIN IMMEDIATE');
    try {
      for (const attempt of [
        () => store.appendToStream('account-2', [placed(2)]),
        () => store.transaction((tx) => tx.appendToStream('account-3', [placed(3)])),
      ]) {
        const error = await attempt().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(StoreBusyError);
        expect(error).toMatchObject({ code: 'store_busy', details: { file, busyTimeoutMs: 50, sqliteCode: 'SQLITE_BUSY' } });
      }
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    expect(await readAll(store)).toEqual([1]);
    await store.appendToStream('account-2', [placed(2)]);
    expect(await readAll(store)).toEqual([1, 2]);
    await store.close();
  });
});

describe('SQLite event store: transactions on one connection', () => {
  it('serialises a plain append behind an open transaction, and store reads see only committed events', async () => {
    const store = createSqliteEventStore({ file: files.next() });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const order: string[] = [];
    const tx = store.transaction(async (t) => {
      await t.appendToStream('order-1', [placed(1)]);
      expect(await store.streamExists('order-1')).toBe(false);
      expect(await t.streamExists('order-1')).toBe(true);
      await gate;
      order.push('tx');
    });
    const append = store.appendToStream('order-2', [placed(2)]).then((result) => {
      order.push('append');
      return result;
    });
    release();
    await tx;
    expect((await append).position).toBe(2n);
    expect(order).toEqual(['tx', 'append']);
    await store.close();
  });

  it('a throwing hook undoes its own append only; the transaction goes on and commits the rest', async () => {
    const store = createSqliteEventStore({ file: files.next() });
    await store.transaction(async (tx) => void tx.db.exec('CREATE TABLE seen (id TEXT PRIMARY KEY)'));
    store.addAppendHook((events, tx) => {
      for (const event of events) tx.db.prepare('INSERT INTO seen (id) VALUES (?)').run(event.streamId);
      if (events.some((e) => e.type === 'poison')) throw new TidemarkError('validation', 'poisoned');
    });
    const notified: number[] = [];
    store.onAppended(() => notified.push(1));
    await store.transaction(async (tx) => {
      await tx.appendToStream('order-1', [placed(1)]);
      await expect(tx.appendToStream('order-2', [{ type: 'poison', data: {} }])).rejects.toThrow('poisoned');
      await tx.appendToStream('order-3', [placed(3)]);
    });
    expect(await store.streamExists('order-2')).toBe(false);
    expect((await store.readStream('order-3'))[0]?.position).toBe(2n);
    await store.transaction(async (tx) => {
      expect(tx.db.prepare('SELECT id FROM seen ORDER BY id').pluck().all()).toEqual(['order-1', 'order-3']);
    });
    expect(notified).toHaveLength(1);
    await store.close();
  });

  it('refuses to be used after it has finished', async () => {
    const store = createSqliteEventStore({ file: files.next() });
    let leaked!: Parameters<Parameters<typeof store.transaction>[0]>[0];
    await store.transaction(async (tx) => {
      leaked = tx;
    });
    await expect(leaked.appendToStream('order-1', [placed(1)])).rejects.toBeInstanceOf(ValidationError);
    await expect(leaked.sql.query('SELECT 1')).rejects.toBeInstanceOf(ValidationError);
    expect(await store.headPosition()).toBe(0n);
    await store.close();
  });

  it('refuses store reads inside a transaction on :memory:, where they would wait for it forever', async () => {
    const store = createSqliteEventStore({ file: ':memory:' });
    await store.transaction(async (tx) => {
      await tx.appendToStream('order-1', [placed(1)]);
      await expect(store.readStream('order-1')).rejects.toBeInstanceOf(NestedStoreCallError);
      await expect(store.headPosition()).rejects.toMatchObject({ code: 'nested_store_call', details: { operation: 'headPosition' } });
      expect(await tx.readStream('order-1')).toHaveLength(1);
    });
    expect(await store.headPosition()).toBe(1n);
    await store.close();
  });

  it('works on a private :memory: database, where reads wait for an open transaction', async () => {
    const store = createSqliteEventStore({ file: ':memory:' });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tx = store.transaction(async (t) => {
      await t.appendToStream('order-1', [placed(1)]);
      await gate;
      throw new Error('roll back');
    });
    const exists = store.streamExists('order-1');
    release();
    await expect(tx).rejects.toThrow('roll back');
    expect(await exists).toBe(false);
    await store.appendToStream('order-1', [placed(1)]);
    expect(await store.headPosition()).toBe(1n);
    await store.close();
  });
});

describe('SQLite event store: reads', () => {
  it('answers queries on committed data beside an open transaction, and refuses a writing statement', async () => {
    const store = createSqliteEventStore({ file: files.next() });
    await store.transaction(async (tx) => {
      await tx.sql.execute('CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)');
      await tx.sql.execute('INSERT INTO notes (text) VALUES ($1)', ['committed']);
    });
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let inside!: () => void;
    const entered = new Promise<void>((resolve) => {
      inside = resolve;
    });
    const writer = store.transaction(async (tx) => {
      await tx.sql.execute('INSERT INTO notes (text) VALUES ($1)', ['uncommitted']);
      inside();
      await held;
    });
    await entered;
    // The writer holds the connection's transaction: the query does not queue behind it.
    expect(await store.queries.query('SELECT text FROM notes WHERE id >= $1 ORDER BY id', [1])).toEqual([{ text: 'committed' }]);
    release();
    await writer;
    expect(await store.queries.query('SELECT count(*) AS n FROM notes')).toEqual([{ n: 2 }]);
    for (const write of ["INSERT INTO notes (text) VALUES ('no')", 'DELETE FROM notes; SELECT 1']) {
      await expect(store.queries.query(write)).rejects.toBeInstanceOf(ValidationError);
    }
    expect(await store.queries.query('SELECT count(*) AS n FROM notes')).toEqual([{ n: 2 }]);
    await store.close();
  });

  it('refuses a writing query on :memory:, where queries share the writer connection', async () => {
    const store = createSqliteEventStore({ file: ':memory:' });
    await store.transaction((tx) => tx.sql.execute('CREATE TABLE notes (text TEXT)'));
    await expect(store.queries.query("INSERT INTO notes VALUES ('no')")).rejects.toBeInstanceOf(ValidationError);
    expect(await store.queries.query('SELECT count(*) AS n FROM notes')).toEqual([{ n: 0 }]);
    await store.close();
  });

  it('filters readAll by category (generated from the stream id) and type in SQL, page by page', async () => {
    const store = createSqliteEventStore({ file: files.next() });
    await store.appendToStream('order-1', [placed(1), { type: 'order.paid', data: { n: 2 } }]);
    await store.appendToStream('orders', [placed(3)]);
    await store.appendToStream('order-x-y', [placed(4)]);
    await store.appendToStream('order', [placed(5)]);
    const read = async (options: Parameters<typeof store.readAll>[0]) => {
      const seen: number[] = [];
      for await (const event of store.readAll(options)) seen.push((event.data as { n: number }).n);
      return seen;
    };
    expect(await read({ categories: ['order'], batchSize: 1 })).toEqual([1, 2, 4, 5]);
    expect(await read({ categories: ['order', 'orders'], types: ['order.placed'], batchSize: 2 })).toEqual([1, 3, 4, 5]);
    expect(await read({ categories: ['order', 'order', 'orders'], types: ['order.placed', 'order.paid'], batchSize: 1 })).toEqual([
      1, 2, 3, 4, 5,
    ]);
    expect(await read({ types: ['order.paid', 'order.placed', 'order.paid'], after: 1n, batchSize: 2 })).toEqual([2, 3, 4, 5]);
    expect(await read({ types: ["order.placed' OR 1=1 --"] })).toEqual([]);
    expect(await read({ after: 2n, limit: 2, batchSize: 1 })).toEqual([3, 4]);
    await store.close();
  });

  it('readAll with any mix of type and category filters returns exactly the matching events in position order', async () => {
    const store = createSqliteEventStore({ file: files.next() });
    const categories = ['cart', 'order', 'payment'];
    const types = ['a', 'b', 'c'];
    const log: Array<{ category: string; type: string; position: bigint }> = [];
    for (let i = 0; i < 120; i++) {
      const category = categories[(i * 7) % 3]!;
      const type = types[(i * 5 + Math.floor(i / 4)) % 3]!;
      const result = await store.appendToStream(`${category}-${i % 4}`, [{ type, data: { i } }]);
      log.push({ category, type, position: result.position });
    }
    const subset = (values: string[]) => fc.option(fc.subarray(values, { minLength: 1 }), { nil: undefined });
    await fc.assert(
      fc.asyncProperty(
        subset(types),
        subset(categories),
        fc.integer({ min: 1, max: 17 }),
        fc.integer({ min: 0, max: 130 }),
        async (typeFilter, categoryFilter, batchSize, after) => {
          const expected = log
            .filter(
              (e) =>
                e.position > BigInt(after) &&
                (!typeFilter || typeFilter.includes(e.type)) &&
                (!categoryFilter || categoryFilter.includes(e.category)),
            )
            .map((e) => e.position);
          const actual: bigint[] = [];
          for await (const event of store.readAll({ types: typeFilter, categories: categoryFilter, batchSize, after: BigInt(after) }))
            actual.push(event.position);
          expect(actual).toEqual(expected);
        },
      ),
      { numRuns: 60 },
    );
    await store.close();
  });

  it('readAll delivers events committed while the caller iterates, including after the last page', async () => {
    const store = createSqliteEventStore({ file: files.next() });
    await store.appendToStream('order-1', [placed(1), placed(2)]);
    const seen: number[] = [];
    for await (const event of store.readAll({ batchSize: 2 })) {
      const n = (event.data as { n: number }).n;
      seen.push(n);
      if (n < 5) await store.appendToStream('order-1', [placed(n + 2)], { expectedVersion: n + 1 >= 3 ? n + 1 : 'any' });
    }
    expect(seen).toEqual([1, 2, 3, 4, 5, 6]);
    await store.close();
  });

  it('aggregateStream folds across page boundaries and stops at upToVersion and asOf', async () => {
    let now = 0;
    const store = createSqliteEventStore({ file: files.next(), clock: { now: () => new Date(now) } });
    for (let batch = 0; batch < 25; batch++) {
      now = batch * 1000;
      await store.appendToStream(
        'counter-1',
        Array.from({ length: 100 }, (_, i) => placed(batch * 100 + i + 1)),
      );
    }
    const sum = { initialState: () => 0, evolve: (total: number, event: { data: unknown }) => total + (event.data as { n: number }).n };
    expect(await store.aggregateStream('counter-1', sum)).toEqual({ state: (2500 * 2501) / 2, version: 2500, exists: true });
    expect(await store.aggregateStream('counter-1', sum, { upToVersion: 1001 })).toEqual({
      state: (1001 * 1002) / 2,
      version: 1001,
      exists: true,
    });
    expect(await store.aggregateStream('counter-1', sum, { asOf: new Date(1500) })).toEqual({
      state: (200 * 201) / 2,
      version: 200,
      exists: true,
    });
    expect(await store.aggregateStream('counter-1', sum, { upToVersion: 0 })).toEqual({ state: 0, version: 0, exists: false });
    await store.close();
  });
});
