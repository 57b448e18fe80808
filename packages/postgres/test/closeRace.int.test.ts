import { setTimeout as sleep } from 'node:timers/promises';
import { ConcurrencyError, type EventStage, ValidationError } from '@tidemark/core';
import { serviceAvailable, serviceUrls } from '@tidemark/testing';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import type { PostgresEventStore, PostgresEventStoreOptions } from '../src/index.js';
import { createStoreFactory } from './testSchemas.js';

const available = await serviceAvailable('postgres');

const placed = (n: number) => ({ type: 'order.placed', data: { n } });

/** A write stage that awaits something slow (a key store, a schema registry) before letting the events through. */
const slowWrite = (ms: number): EventStage => ({
  write: async (events) => {
    await sleep(ms);
    return events;
  },
});

/** The configurations whose append paths differ: group commit, one autocommit statement per append, hooked appends. */
const configurations: ReadonlyArray<[string, Partial<PostgresEventStoreOptions>, boolean]> = [
  ['group commit', {}, false],
  ['autocommit (groupCommit: false)', { groupCommit: false }, false],
  ['with an append hook', {}, true],
];

describe.skipIf(!available)('PostgreSQL store closed while calls are in flight', () => {
  const stores = createStoreFactory();
  const clients: pg.Client[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.end()));
    await stores.cleanup();
  });

  /**
   * The events committed in a closed store's schema, read by a fresh store on it: in SQL, since
   * its readAll stops at the readable horizon, which another session of the cluster may hold back.
   */
  async function committedIn(closed: PostgresEventStore): Promise<number[]> {
    const reopened = await stores.create({ schema: closed.schema });
    const rows = await reopened.queries.query<{ n: number }>(`SELECT (data->>'n')::int AS n FROM "${closed.schema}".events ORDER BY 1`);
    return rows.map((row) => row.n);
  }

  describe.each(configurations)('appends in their async write stages: %s', (_name, storeOptions, hooked) => {
    const open = async (stages: EventStage[] = [slowWrite(20)]) => {
      const store = await stores.create({ ...storeOptions, stages });
      if (hooked) store.addAppendHook(async () => {});
      return store;
    };

    it('commits an append accepted just before close(), and close() waits for it', async () => {
      const store = await open();
      const appending = store.appendToStream('order-1', [placed(1)]);
      const closing = store.close();
      expect(await appending).toMatchObject({ written: true });
      await closing;
      expect(await committedIn(store)).toEqual([1]);
    });

    it('commits every append accepted before close(), however they interleave', async () => {
      const delays = [30, 5, 20, 1, 10];
      let call = 0;
      const store = await open([
        {
          write: async (events) => {
            await sleep(delays[call++ % delays.length]!);
            return events;
          },
        },
      ]);
      const appends = delays.map((_, i) => store.appendToStream(`order-${i}`, [placed(i)]));
      const closing = store.close();
      const settled = await Promise.allSettled(appends);
      expect(settled.map((outcome) => outcome.status)).toEqual(delays.map(() => 'fulfilled'));
      await closing;
      expect(await committedIn(store)).toEqual([0, 1, 2, 3, 4]);
    });

    it('refuses an append that arrives once close() has begun with the typed error', async () => {
      const store = await open();
      const accepted = store.appendToStream('order-1', [placed(1)]);
      const closing = store.close();
      const late = store.appendToStream('order-2', [placed(2)]);
      await expect(late).rejects.toBeInstanceOf(ValidationError);
      await expect(late).rejects.toThrow('The event store is closed');
      await accepted;
      await closing;
      expect(await committedIn(store)).toEqual([1]);
    });

    it('commits a transaction whose appends are still in their async stages when close() is called', async () => {
      const store = await open();
      const running = store.transaction(async (tx) => {
        await tx.appendToStream('order-1', [placed(1)]);
        return tx.appendToStream('order-2', [placed(2)]);
      });
      const closing = store.close();
      expect(await running).toMatchObject({ written: true });
      await closing;
      expect(await committedIn(store)).toEqual([1, 2]);
    });
  });

  it('delivers the page a readAll has read, and refuses the next one with the typed error', async () => {
    const store = await stores.create();
    await store.appendToStream(
      'order-1',
      Array.from({ length: 30 }, (_, i) => placed(i)),
    );
    const seen: number[] = [];
    let closing: Promise<void> | undefined;
    const iterating = (async () => {
      for await (const event of store.readAll({ batchSize: 10 })) {
        seen.push((event.data as { n: number }).n);
        closing ??= store.close();
      }
    })();
    await expect(iterating).rejects.toBeInstanceOf(ValidationError);
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await closing;
  });

  it('lets the retry of a transaction accepted before close() run, then closes', async () => {
    const store = await stores.create();
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
    expect(await committedIn(store)).toEqual([1]);
  });

  it('answers a query that waits for a connection when close() is called', async () => {
    const store = await stores.create({ poolSize: 1 });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    // Holds the pool's one connection: the query below waits for it.
    const running = store.transaction(async (tx) => {
      await gate;
      return tx.appendToStream('order-1', [placed(1)]);
    });
    await sleep(20);
    const query = store.queries.query<{ n: number }>('SELECT 1 AS n');
    const head = store.headPosition();
    const closing = store.close();
    release();
    await running;
    expect(await query).toEqual([{ n: 1 }]);
    expect(await head).toBeGreaterThanOrEqual(0n);
    await closing;
  }, 20_000);

  it('answers reads waiting for their own writes to become readable when close() is called', async () => {
    const store = await stores.create({ readYourWritesTimeoutMs: 300 });
    // A transaction holding an id keeps the readable horizon below the append's commit.
    const blocker = new pg.Client({ connectionString: serviceUrls.postgres });
    await blocker.connect();
    clients.push(blocker);
    await blocker.query('BEGIN');
    await blocker.query('SELECT pg_current_xact_id()');
    await store.appendToStream('order-1', [placed(1)]);
    const page = store.readPage({ after: 0n, limit: 10 });
    const head = store.headPosition();
    const first = store
      .readAll()
      [Symbol.asyncIterator]()
      .next()
      .then(
        () => 'answered',
        (error: unknown) => error,
      );
    await sleep(60);
    const closing = store.close();
    // close() ends their wait for the horizon, and the pool only once they are answered: never the
    // pool's "Cannot use a pool after calling end on the pool".
    expect((await page).events).toEqual([]);
    expect(await head).toBe(0n);
    // readAll checks the store is open before each page, its first one included: once its wait is over.
    expect(await first).toBeInstanceOf(ValidationError);
    await expect(store.readPage({ after: 0n, limit: 10 })).rejects.toBeInstanceOf(ValidationError);
    await blocker.query('ROLLBACK');
    await closing;
  });
});
