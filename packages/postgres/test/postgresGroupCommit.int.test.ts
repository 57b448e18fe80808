import { type AppendResult, ConcurrencyError, ValidationError } from '@tidemark/core';
import { serviceAvailable, serviceUrls, waitFor } from '@tidemark/testing';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createStoreFactory } from './testSchemas.js';

const available = await serviceAvailable('postgres');

const deposited = (n: number) => ({ type: 'account.deposited', data: { n } });
/** Positions are (transaction id << 20) + k: appends committed together share the high part. */
const transactionOf = (position: bigint) => position >> 20n;

/** Until a statement on `schema`'s events waits for a stream's advisory lock. */
function waitForLockWait(observer: pg.Client, schema: string): Promise<void> {
  return waitFor(
    async () => {
      const result = await observer.query(
        `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
          WHERE NOT l.granted AND l.locktype = 'advisory' AND strpos(a.query, $1) > 0`,
        [`"${schema}".`],
      );
      return result.rows[0].n >= 1;
    },
    'the batch waiting for the stream lock',
    10_000,
  );
}

describe.skipIf(!available)('PostgreSQL group commit', () => {
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

  it('commits concurrent appends in a few shared transactions, each caller getting its own result', async () => {
    const store = await stores.create();
    const appends = Array.from({ length: 32 }, (_, i) =>
      store.appendToStream(`account-${i}`, [deposited(i)], { expectedVersion: 'no_stream' }),
    );
    const results = await Promise.all(appends);
    expect(results.map((r) => r.streamId)).toEqual(appends.map((_, i) => `account-${i}`));
    // The first went alone (nothing was in flight), the rest together.
    expect(new Set(results.map((r) => transactionOf(r.position))).size).toBeLessThanOrEqual(2);
    for (const [i, result] of results.entries()) {
      const [event] = await store.readStream(`account-${i}`);
      expect(event).toMatchObject({ position: result.position, version: 1, data: { n: i } });
    }
  });

  it('commits one transaction per append with groupCommit: false', async () => {
    const store = await stores.create({ groupCommit: false });
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => store.appendToStream(`account-${i}`, [deposited(i)])));
    expect(new Set(results.map((r) => transactionOf(r.position))).size).toBe(8);
  });

  it('fails a conflicting append alone and keeps the rest of its batch, in arrival order', async () => {
    const store = await stores.create();
    const outcomes = await Promise.allSettled([
      store.appendToStream('warm-up', [deposited(0)]),
      store.appendToStream('account-1', [deposited(1)], { expectedVersion: 'no_stream' }),
      store.appendToStream('account-1', [deposited(2)], { expectedVersion: 'no_stream' }),
      store.appendToStream('account-1', [deposited(3)], { expectedVersion: 1 }),
      store.appendToStream('account-0', [deposited(4)]),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect((outcomes[2] as PromiseRejectedResult).reason).toBeInstanceOf(ConcurrencyError);
    const written = (outcomes.filter((o) => o.status === 'fulfilled') as PromiseFulfilledResult<AppendResult>[]).map((o) => o.value);
    // The last four shared one transaction.
    expect(new Set(written.slice(1).map((r) => transactionOf(r.position))).size).toBe(1);
    expect((await store.readStream('account-1')).map((e) => e.data)).toEqual([{ n: 1 }, { n: 3 }]);
    expect((await store.readStream('account-0')).map((e) => e.data)).toEqual([{ n: 4 }]);
  });

  it('appends a batch of distinct streams in one plain statement: each expected version decides its own append', async () => {
    const store = await stores.create();
    await store.appendToStream('s-1', [deposited(0)]);
    await store.appendToStream('s-2', [deposited(0)]);
    const outcomes = await Promise.allSettled([
      store.appendToStream('warm-up', [deposited(0)]),
      store.appendToStream('s-1', [deposited(1), deposited(11)], { expectedVersion: 1 }),
      store.appendToStream('s-2', [deposited(2)], { expectedVersion: 5 }),
      store.appendToStream('s-3', [deposited(3)], { expectedVersion: 'no_stream' }),
      store.appendToStream('s-4', [deposited(4)], { expectedVersion: 'stream_exists' }),
      store.appendToStream('s-5', [deposited(5)], { expectedVersion: 'any' }),
      store.appendToStream('s-2', [deposited(22)], { expectedVersion: 'stream_exists' }).then(
        (result) => ({ status: 'fulfilled' as const, value: result }),
        (reason: unknown) => ({ status: 'rejected' as const, reason }),
      ),
    ]);
    expect(outcomes.slice(0, 6).map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled']);
    expect((outcomes[2] as PromiseRejectedResult).reason).toMatchObject({ name: 'ConcurrencyError', actual: 1 });
    expect((outcomes[4] as PromiseRejectedResult).reason).toBeInstanceOf(ConcurrencyError);
    const [s1, , s3, , s5] = (outcomes.slice(1, 6) as Array<PromiseSettledResult<AppendResult>>).map((o) =>
      o.status === 'fulfilled' ? o.value : undefined,
    );
    expect(s1).toMatchObject({ nextExpectedVersion: 3, written: true });
    expect(s1!.events.map((e) => e.version)).toEqual([2, 3]);
    expect(s1!.events[1]!.position - s1!.events[0]!.position).toBe(1n);
    expect(s3).toMatchObject({ nextExpectedVersion: 1 });
    expect(s5).toMatchObject({ nextExpectedVersion: 1 });
    // The batch after the warm-up committed as one transaction.
    expect(new Set([s1!, s3!, s5!].map((r) => transactionOf(r.position))).size).toBe(1);
    for (const [stream, result] of [
      ['s-1', s1],
      ['s-3', s3],
      ['s-5', s5],
    ] as const) {
      const events = await store.readStream(stream);
      expect(events.slice(-result!.events.length)).toEqual(result!.events);
    }
    expect((await store.readStream('s-2')).map((e) => e.data)).toEqual([{ n: 0 }, { n: 22 }]);
    expect(await store.streamExists('s-4')).toBe(false);
  });

  it('runs a plain batch alone, append by append, when another transaction took one of its versions meanwhile', async () => {
    const store = await stores.create();
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
    const observer = await rawClient();
    // Appended in one turn: one batch, one plain statement.
    const batch = [
      store.appendToStream('mix-1', [{ type: 'second', data: {} }]),
      store.appendToStream('mix-2', [deposited(2)], { expectedVersion: 'no_stream' }),
      store.appendToStream('mix-3', [deposited(3)], { expectedVersion: 'no_stream' }),
    ];
    await waitForLockWait(observer, store.schema);
    // The batch's snapshot predates the transaction's commit: its version 1 of mix-1 is refused
    // by the unique index, the statement rolls back, and each append runs on its own.
    release();
    await slow;
    const [mix1, mix2, mix3] = await Promise.all(batch);
    expect(mix1).toMatchObject({ nextExpectedVersion: 2, written: true });
    expect(mix2).toMatchObject({ nextExpectedVersion: 1 });
    expect(mix3).toMatchObject({ nextExpectedVersion: 1 });
    expect((await store.readStream('mix-1')).map((e) => e.type)).toEqual(['first', 'second']);
    expect(await store.readStream('mix-2')).toHaveLength(1);
  });

  it('rejects bad input for its caller alone', async () => {
    const store = await stores.create();
    const outcomes = await Promise.allSettled([
      store.appendToStream('account-1', [deposited(1)]),
      store.appendToStream('', [deposited(2)]),
      store.appendToStream('account-3', [deposited(3)]),
      store.appendToStream('account-4', [deposited(4)]),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason).toBeInstanceOf(ValidationError);
    const events = [];
    for await (const event of store.readAll()) events.push(event.streamId);
    expect(events.sort()).toEqual(['account-1', 'account-3', 'account-4']);
  });

  it('treats a retry of the same event ids in the same batch as the idempotent retry it is', async () => {
    const store = await stores.create();
    const id = '0193a3a0-0000-7000-8000-000000000001';
    const [, first, retry] = await Promise.all([
      store.appendToStream('warm-up', [deposited(0)]),
      store.appendToStream('account-1', [{ id, ...deposited(1) }], { expectedVersion: 'no_stream' }),
      store.appendToStream('account-1', [{ id, ...deposited(1) }], { expectedVersion: 'no_stream' }),
    ]);
    expect(first).toMatchObject({ written: true, nextExpectedVersion: 1 });
    expect(retry).toMatchObject({ written: false, position: first!.position, nextExpectedVersion: 1 });
    expect(await store.readStream('account-1')).toHaveLength(1);
  });

  it('when the shared statement raises, runs each append of the batch alone so only the culprit fails', async () => {
    const store = await stores.create();
    const admin = await rawClient();
    // A trigger standing in for anything that makes append_to_stream raise mid-batch.
    await admin.query(`CREATE FUNCTION "${store.schema}".refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.type = 'boom' THEN RAISE EXCEPTION 'boom refused'; END IF; RETURN NEW; END $$`);
    await admin.query(
      `CREATE TRIGGER refuse_boom BEFORE INSERT ON "${store.schema}".events FOR EACH ROW EXECUTE FUNCTION "${store.schema}".refuse_boom()`,
    );
    const outcomes = await Promise.allSettled([
      store.appendToStream('warm-up', [deposited(0)]),
      store.appendToStream('account-1', [deposited(1)]),
      store.appendToStream('account-2', [{ type: 'boom', data: {} }]),
      store.appendToStream('account-1', [deposited(3)], { expectedVersion: 1 }),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(((outcomes[2] as PromiseRejectedResult).reason as Error).message).toMatch(/boom refused/);
    expect((await store.readStream('account-1')).map((e) => e.data)).toEqual([{ n: 1 }, { n: 3 }]);
    expect(await store.streamExists('account-2')).toBe(false);
  });

  it('waits for a transaction appending to the same stream, then the batch appends after it or reports the conflict', async () => {
    const store = await stores.create();
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
    // Both travel in one statement: one session waits for the stream's lock.
    await waitForLockWait(observer, store.schema);
    release();
    await slow;
    expect(await any).toMatchObject({ nextExpectedVersion: 2, written: true });
    expect(await exact).toBeInstanceOf(ConcurrencyError);
    const events = await store.readStream('mix-1');
    expect(events.map((e) => e.type)).toEqual(['first', 'second']);
    expect(events[1]!.position).toBeGreaterThan(events[0]!.position);
  });

  it('lets close() finish the appends it had already accepted', async () => {
    const store = await stores.create();
    const appends = Array.from({ length: 8 }, (_, i) => store.appendToStream(`account-${i}`, [deposited(i)]));
    await store.close();
    expect((await Promise.all(appends)).every((r) => r.written)).toBe(true);
  });
});
