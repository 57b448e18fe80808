import { type AppendResult, ConcurrencyError, ValidationError } from '@tidemark/core';
import { serviceAvailable, serviceUrls, waitFor } from '@tidemark/testing';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createStoreFactory } from './testSchemas.js';

const available = await serviceAvailable('postgres');

const deposited = (n: number) => ({ type: 'account.deposited', data: { n } });
/** Positions are (transaction id << 20) + k: appends committed together share the high part. */
const transactionOf = (position: bigint) => position >> 20n;

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
    await waitFor(
      async () => {
        const result = await observer.query(
          `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE NOT l.granted AND l.locktype = 'advisory' AND strpos(a.query, $1) > 0`,
          [`"${store.schema}".`],
        );
        return result.rows[0].n >= 1;
      },
      'the batch waiting for the stream lock',
      10_000,
    );
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
