import { type Decider, handleCommand, TransactionConflictError, TransactionLimitError } from '@tidemark/core';
import { serviceAvailable } from '@tidemark/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createStoreFactory } from './testSchemas.js';

const available = await serviceAvailable('postgres');

const counter: Decider<{ type: 'add'; message: string }, { type: 'counter.added'; data: { message: string } }, number> = {
  initialState: () => 0,
  evolve: (total) => total + 1,
  decide: (command) => [{ type: 'counter.added', data: { message: command.message } }],
};

/** Resolves once `parties` callers have arrived: makes two transactions interleave on purpose. */
function barrier(parties: number): () => Promise<void> {
  let arrived = 0;
  let release: () => void = () => {};
  const all = new Promise<void>((resolve) => {
    release = resolve;
  });
  return () => {
    if (++arrived === parties) release();
    return all;
  };
}

describe.skipIf(!available)('PostgreSQL: the transaction is the retry boundary (issue 7 §3, §6)', () => {
  const stores = createStoreFactory();
  afterEach(() => stores.cleanup());

  it("commits a 'relaxed' transaction with synchronous_commit off, for that transaction alone", async () => {
    const store = await stores.create({ poolSize: 1 });
    const setting = async (tx: { sql: { query(text: string): Promise<Array<Record<string, unknown>>> } }) =>
      (await tx.sql.query('SHOW synchronous_commit'))[0]?.synchronous_commit;
    expect(await store.transaction(setting, { durability: 'relaxed' })).toBe('off');
    // The one pooled connection comes back with the server's setting.
    expect(await store.transaction(setting)).toBe('on');
  });

  it("a transaction whose statement failed is rolled back with that statement's error, whether the work caught it or left it running", async () => {
    const store = await stores.create({ poolSize: 1 });
    const caught = store.transaction(async (tx) => {
      await tx.appendToStream('kept-1', [{ type: 'noted', data: {} }]);
      await tx.sql.query('SELECT 1 / 0').catch(() => {});
    });
    await expect(caught).rejects.toThrow(/rolled back.*division by zero/);
    await expect(caught).rejects.toMatchObject({ cause: { code: '22012' } });
    const notAwaited = store.transaction(async (tx) => {
      await tx.appendToStream('kept-1', [{ type: 'noted', data: {} }]);
      void tx.sql.query('SELECT 1 / 0').catch(() => {});
    });
    await expect(notAwaited).rejects.toThrow(/division by zero/);
    expect(await store.streamExists('kept-1')).toBe(false);
    // Healed by a rollback to a savepoint: the transaction commits.
    await store.transaction(async (tx) => {
      await tx.sql.query('SAVEPOINT before_division');
      await tx.sql.query('SELECT 1 / 0').catch(() => tx.sql.query('ROLLBACK TO SAVEPOINT before_division'));
      await tx.appendToStream('kept-1', [{ type: 'noted', data: {} }]);
    });
    expect(await store.streamExists('kept-1')).toBe(true);
  });

  it('a serialization failure the work caught still rolls back as a TransactionConflictError, which retry runs again', async () => {
    const store = await stores.create({ poolSize: 1 });
    let attempts = 0;
    const work = async (tx: { sql: { query(text: string): Promise<unknown> } }) => {
      attempts++;
      if (attempts === 1) {
        await tx.sql.query(`DO $$ BEGIN RAISE EXCEPTION 'could not serialize' USING ERRCODE = '40001'; END $$`).catch(() => {});
      }
      return attempts;
    };
    await expect(store.transaction(work)).rejects.toThrow(TransactionConflictError);
    attempts = 0;
    expect(await store.transaction(work, { retry: { maxAttempts: 3 } })).toBe(2);
  });

  it('inbox first: messages delivered twice by racing workers take effect exactly once', async () => {
    const store = await stores.create({ poolSize: 8 });
    const inbox = `"${store.schema}".test_inbox`;
    await store.transaction((tx) => tx.sql.execute(`CREATE TABLE ${inbox} (message_id text PRIMARY KEY)`));
    const messages = Array.from({ length: 25 }, (_, i) => `message-${i}`);
    // Each message twice, all at once: every worker writes its inbox row FIRST (which gives its
    // transaction an id early), then appends to the one hot stream.
    const deliveries = [...messages, ...messages].map((message) =>
      store.transaction(
        async (tx) => {
          const fresh = await tx.sql.execute(`INSERT INTO ${inbox} (message_id) VALUES ($1) ON CONFLICT DO NOTHING`, [message]);
          if (fresh === 0) return 'duplicate';
          await handleCommand(tx, counter, 'counter-1', { type: 'add', message });
          return 'applied';
        },
        { retry: { maxAttempts: 10_000, maxElapsedMs: 120_000 } },
      ),
    );
    const outcomes = await Promise.all(deliveries);
    expect(outcomes.filter((o) => o === 'applied')).toHaveLength(messages.length);
    const events = await store.readStream('counter-1');
    expect(events.map((e) => (e.data as { message: string }).message).sort()).toEqual([...messages].sort());
    const rows = await store.transaction((tx) => tx.sql.query(`SELECT message_id FROM ${inbox}`));
    expect(rows).toHaveLength(messages.length);
  });

  it('a deadlock between two multi-stream transactions is a TransactionConflictError, and retrying runs both', async () => {
    const store = await stores.create({ poolSize: 4 });
    const crossed = (retry: boolean) => {
      const bothHoldOne = barrier(2);
      const transfer = (from: string, to: string) =>
        store.transaction(
          async (tx) => {
            await tx.appendToStream(from, [{ type: 'leg.started', data: { to } }]);
            await bothHoldOne();
            await tx.appendToStream(to, [{ type: 'leg.finished', data: { from } }]);
          },
          retry ? { retry: { maxAttempts: 5, maxElapsedMs: 30_000 } } : {},
        );
      return Promise.allSettled([transfer('account-a', 'account-b'), transfer('account-b', 'account-a')]);
    };
    const plain = await crossed(false);
    const failures = plain.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(failures).toHaveLength(1);
    expect(failures[0]?.reason).toBeInstanceOf(TransactionConflictError);
    expect(failures[0]?.reason).toMatchObject({ code: 'transaction_conflict', details: { sqlState: '40P01' } });
    const before = (await store.readStream('account-a')).length + (await store.readStream('account-b')).length;
    expect(before).toBe(2);
    const retried = await crossed(true);
    expect(retried.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
    expect((await store.readStream('account-a')).length + (await store.readStream('account-b')).length).toBe(6);
  });

  it('retries a plain append that a deadlock picked as its victim (here: inline projections locking rows in opposite orders)', async () => {
    const store = await stores.create({ poolSize: 4 });
    const rows = `"${store.schema}".test_totals`;
    await store.transaction(async (tx) => {
      await tx.sql.execute(`CREATE TABLE ${rows} (id int PRIMARY KEY, n int NOT NULL)`);
      await tx.sql.execute(`INSERT INTO ${rows} VALUES (1, 0), (2, 0)`);
    });
    const bothHoldOne = barrier(2);
    let crossings = 0;
    store.addAppendHook(async (events, tx) => {
      const order = events[0]?.streamId === 'x-1' ? [1, 2] : [2, 1];
      await tx.sql.execute(`UPDATE ${rows} SET n = n + 1 WHERE id = $1`, [order[0]]);
      // Only the first round crosses: the retry of the victim finds the way clear.
      if (crossings++ < 2) await bothHoldOne();
      await tx.sql.execute(`UPDATE ${rows} SET n = n + 1 WHERE id = $1`, [order[1]]);
    });
    const results = await Promise.allSettled([
      store.appendToStream('x-1', [{ type: 'x.happened', data: {} }]),
      store.appendToStream('y-1', [{ type: 'y.happened', data: {} }]),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
    expect(crossings).toBe(3);
    const totals = await store.transaction((tx) => tx.sql.query<{ n: number }>(`SELECT n FROM ${rows} ORDER BY id`));
    expect(totals.map((row) => row.n)).toEqual([2, 2]);
  });

  it('refuses a transaction over more distinct streams than maxStreamsPerTransaction, before the lock table runs out', async () => {
    const store = await stores.create({ maxStreamsPerTransaction: 20 });
    const error = await store
      .transaction(async (tx) => {
        for (let i = 0; i < 21; i++) await tx.appendToStream(`item-${i}`, [{ type: 'item.added', data: { i } }]);
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransactionLimitError);
    expect(error).toMatchObject({ code: 'transaction_limit', details: { limit: 20, streamId: 'item-20' } });
    expect(await store.headPosition()).toBe(0n);
    // Up to the limit, and any number of appends to streams it already holds, are fine.
    await store.transaction(async (tx) => {
      for (let i = 0; i < 20; i++) await tx.appendToStream(`item-${i}`, [{ type: 'item.added', data: { i } }]);
      for (let i = 0; i < 20; i++) await tx.appendToStream(`item-${i}`, [{ type: 'item.added', data: { i } }]);
    });
    expect((await store.readStream('item-19')).length).toBe(2);
  });

  it('has a default stream limit per transaction far below what exhausts the default lock table (~12,400)', async () => {
    const store = await stores.create();
    const error = await store
      .transaction(async (tx) => {
        for (let i = 0; i <= 1000; i++) await tx.appendToStream(`item-${i}`, [{ type: 'item.added', data: { i } }]);
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransactionLimitError);
    expect(error).toMatchObject({ details: { limit: 1000 } });
    expect(await store.headPosition()).toBe(0n);
  });
});
