import { setTimeout as sleep } from 'node:timers/promises';
import { ConcurrencyError, type EventStage, type RecordedEvent, ValidationError } from '@tidemark/core';
import { afterAll, describe, expect, it } from 'vitest';
import { createSqliteEventStore, type SqliteEventStoreOptions } from '../src/index.js';
import { tempSqliteFiles } from './tempSqliteFiles.js';

const files = tempSqliteFiles('tidemark-close-race-');
afterAll(() => files.remove());

const placed = (n: number) => ({ type: 'order.placed', data: { n } });

/** A write stage that awaits something slow (a key store, a schema registry) before letting the events through. */
const slowWrite = (ms: number): EventStage => ({
  write: async (events) => {
    await sleep(ms);
    return events;
  },
});

/** A read stage that awaits before handing the events on (decryption with a remote key store, say). */
const slowRead = (ms: number): EventStage => ({
  read: async (events) => {
    await sleep(ms);
    return events;
  },
});

/** The events of a closed store's file, read by a fresh store on it. */
async function committedIn(file: string): Promise<number[]> {
  const reopened = createSqliteEventStore({ file });
  try {
    const events: RecordedEvent[] = [];
    for await (const event of reopened.readAll()) events.push(event);
    return events.map((event) => (event.data as { n: number }).n);
  } finally {
    await reopened.close();
  }
}

/** The configurations whose append paths differ: group commit (here or on the writer thread), one transaction per append, hooked appends. */
const configurations: ReadonlyArray<[string, Omit<SqliteEventStoreOptions, 'file' | 'stages'>, boolean]> = [
  ['group commit', {}, false],
  ["group commit on the writer thread ('always')", { writerThread: 'always' }, false],
  ['one transaction per append (groupCommit: false)', { groupCommit: false }, false],
  ['group commit, with an append hook', {}, true],
  ['one transaction per append, with an append hook', { groupCommit: false }, true],
];

describe.each(configurations)('SQLite store closed while appends are in their async write stages: %s', (_name, storeOptions, hooked) => {
  const open = (file: string, stages: EventStage[] = [slowWrite(20)]) => {
    const store = createSqliteEventStore({ file, ...storeOptions, stages });
    if (hooked) store.addAppendHook(async () => {});
    return store;
  };

  it('commits an append accepted just before close(), and close() waits for it', async () => {
    const file = files.next();
    const store = open(file);
    const appending = store.appendToStream('order-1', [placed(1)]);
    const closing = store.close();
    expect(await appending).toMatchObject({ written: true, position: 1n });
    await closing;
    expect(await committedIn(file)).toEqual([1]);
  });

  it('commits every append accepted before close(), however they interleave', async () => {
    const file = files.next();
    // Stages that finish out of order: the appends reach the writer in a different order than they came.
    const delays = [30, 5, 20, 1, 10];
    let call = 0;
    const stage: EventStage = {
      write: async (events) => {
        await sleep(delays[call++ % delays.length]!);
        return events;
      },
    };
    const store = open(file, [stage]);
    const appends = delays.map((_, i) => store.appendToStream(`order-${i}`, [placed(i)]));
    const closing = store.close();
    const settled = await Promise.allSettled(appends);
    expect(settled.map((outcome) => outcome.status)).toEqual(delays.map(() => 'fulfilled'));
    await closing;
    expect((await committedIn(file)).sort()).toEqual([0, 1, 2, 3, 4]);
  });

  it('refuses an append that arrives once close() has begun with the typed error, never a driver error', async () => {
    const file = files.next();
    const store = open(file);
    const accepted = store.appendToStream('order-1', [placed(1)]);
    const closing = store.close();
    const late = store.appendToStream('order-2', [placed(2)]);
    await expect(late).rejects.toBeInstanceOf(ValidationError);
    await expect(late).rejects.toThrow('The event store is closed');
    await accepted;
    await closing;
    await expect(store.appendToStream('order-3', [placed(3)])).rejects.toBeInstanceOf(ValidationError);
    expect(await committedIn(file)).toEqual([1]);
  });

  it('commits a transaction whose appends are still in their async stages when close() is called', async () => {
    const file = files.next();
    const store = open(file);
    const running = store.transaction(async (tx) => {
      await tx.appendToStream('order-1', [placed(1)]);
      return tx.appendToStream('order-2', [placed(2)]);
    });
    const closing = store.close();
    expect(await running).toMatchObject({ written: true, position: 2n });
    await closing;
    expect(await committedIn(file)).toEqual([1, 2]);
  });
});

describe("SQLite store on ':memory:' closed while an append is in its async write stage", () => {
  it('commits it before the connection goes', async () => {
    const store = createSqliteEventStore({ file: ':memory:', stages: [slowWrite(20)] });
    const appending = store.appendToStream('order-1', [placed(1)]);
    const closing = store.close();
    expect(await appending).toMatchObject({ written: true, position: 1n });
    await closing;
  });
});

describe('SQLite store closed while a transaction retries', () => {
  it('lets the retry of a transaction accepted before close() run, then closes', async () => {
    const file = files.next();
    const store = createSqliteEventStore({ file });
    let attempts = 0;
    const running = store.transaction(
      async (tx) => {
        attempts++;
        await sleep(5);
        if (attempts === 1) throw new ConcurrencyError('order-1', 0, 1);
        return tx.appendToStream('order-1', [placed(1)]);
      },
      { retry: { maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 10 } },
    );
    const closing = store.close();
    expect(await running).toMatchObject({ written: true });
    expect(attempts).toBe(2);
    await closing;
    expect(await committedIn(file)).toEqual([1]);
  });
});

describe('SQLite store: reads racing close()', () => {
  it('completes the reads called before close(), and refuses later ones with the typed error', async () => {
    const file = files.next();
    const writer = createSqliteEventStore({ file });
    await writer.appendToStream('order-1', [placed(1)]);
    await writer.close();

    const store = createSqliteEventStore({ file, stages: [slowRead(20)] });
    const schemas = store.eventSchemas!;
    const reads = [
      store.readStream('order-1'),
      store.aggregateStream('order-1', { initialState: () => 0, evolve: (n: number) => n + 1 }),
      store.readPage({ after: 0n, limit: 10 }),
      store.headPosition(),
      store.queries.query('SELECT count(*) AS n FROM events'),
      schemas.sample('order.placed', 1, 10),
    ];
    const closing = store.close();
    // Their statements ran when they were called; only their read stages were left to await.
    expect((await Promise.allSettled(reads)).map((outcome) => outcome.status)).toEqual(reads.map(() => 'fulfilled'));
    await closing;
    for (const read of [
      () => store.readStream('order-1'),
      () => store.readPage({ after: 0n, limit: 10 }),
      () => store.queries.query('SELECT 1 AS one'),
      () => schemas.list(),
      () => schemas.sample('order.placed', 1, 10),
    ]) {
      await expect(read()).rejects.toBeInstanceOf(ValidationError);
    }
  });

  it('ends a fold over several pages, its read stage awaiting between them, with the typed error', async () => {
    const file = files.next();
    const writer = createSqliteEventStore({ file });
    await writer.appendToStream(
      'order-1',
      Array.from({ length: 2500 }, (_, i) => placed(i)),
    );
    await writer.close();

    const store = createSqliteEventStore({ file, stages: [slowRead(10)] });
    const folding = store.aggregateStream('order-1', { initialState: () => 0, evolve: (n: number) => n + 1 });
    const closing = store.close();
    // Its first page was read when it was called; the next one would be read on a closed connection.
    await expect(folding).rejects.toBeInstanceOf(ValidationError);
    await closing;
  });

  it('ends a readAll iterating across close() with the typed error', async () => {
    const file = files.next();
    const writer = createSqliteEventStore({ file });
    await writer.appendToStream(
      'order-1',
      Array.from({ length: 30 }, (_, i) => placed(i)),
    );
    await writer.close();

    const store = createSqliteEventStore({ file, stages: [slowRead(5)] });
    const seen: number[] = [];
    const iterating = (async () => {
      for await (const event of store.readAll({ batchSize: 10 })) seen.push((event.data as { n: number }).n);
    })();
    await sleep(1);
    const closing = store.close();
    await expect(iterating).rejects.toBeInstanceOf(ValidationError);
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await closing;
  });
});
