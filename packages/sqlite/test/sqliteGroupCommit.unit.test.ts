import { type AppendResult, ConcurrencyError, ValidationError } from '@tidemark/core';
import { createSqliteEventStore } from '@tidemark/sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { tempSqliteFiles } from './tempSqliteFiles.js';

const files = tempSqliteFiles();
afterAll(() => files.remove());

const deposited = (n: number) => ({ type: 'account.deposited', data: { n } });

describe('SQLite group commit', () => {
  it('commits appends issued together in one transaction, each caller getting its own result', async () => {
    const file = files.next();
    const store = createSqliteEventStore({ file });
    await store.appendToStream('warm-up', [deposited(0)]);
    let wakeUps = 0;
    store.onAppended(() => wakeUps++);
    const appends = Array.from({ length: 64 }, (_, i) =>
      store.appendToStream(`account-${i}`, [deposited(i)], { expectedVersion: 'no_stream' }),
    );
    const results = await Promise.all(appends);
    // One commit, one wake-up: the warm-up's commit left the window open until the loop's check
    // phase, so all 64 queued behind it and went in together.
    expect(wakeUps).toBe(1);
    expect(results.map((r) => r.streamId)).toEqual(appends.map((_, i) => `account-${i}`));
    expect(results.map((r) => r.position)).toEqual(results.map((_, i) => BigInt(i + 2)));
    for (const [i, result] of results.entries()) {
      const [event] = await store.readStream(`account-${i}`);
      expect(event).toMatchObject({ position: result.position, version: 1, data: { n: i } });
    }
    await store.close();
  });

  it('commits one append at a time with groupCommit: false', async () => {
    const store = createSqliteEventStore({ file: files.next(), groupCommit: false });
    await store.appendToStream('warm-up', [deposited(0)]);
    let wakeUps = 0;
    store.onAppended(() => wakeUps++);
    await Promise.all(Array.from({ length: 16 }, (_, i) => store.appendToStream(`account-${i}`, [deposited(i)])));
    expect(wakeUps).toBe(16);
    await store.close();
  });

  it('commits a lone append on an idle store at once, before the call returns', async () => {
    const file = files.next();
    const store = createSqliteEventStore({ file });
    await store.appendToStream('warm-up', [deposited(0)]);
    // Let the loop pass its check phase: the store is idle again.
    await new Promise((resolve) => setImmediate(resolve));
    const pending = store.appendToStream('account-1', [deposited(1)]);
    const observer = createSqliteEventStore({ file });
    expect(await observer.headPosition()).toBe(2n);
    await pending;
    await observer.close();
    await store.close();
  });

  it('fails a conflicting append alone and keeps the rest of its batch, in arrival order', async () => {
    const store = createSqliteEventStore({ file: files.next() });
    await store.appendToStream('warm-up', [deposited(0)]);
    // Issued in one turn after the warm-up: all of them share the next commit.
    const outcomes = await Promise.allSettled([
      store.appendToStream('account-1', [deposited(1)], { expectedVersion: 'no_stream' }),
      store.appendToStream('account-1', [deposited(2)], { expectedVersion: 'no_stream' }),
      store.appendToStream('account-1', [deposited(3)], { expectedVersion: 1 }),
      store.appendToStream('account-2', [deposited(4)]),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason).toBeInstanceOf(ConcurrencyError);
    expect((await store.readStream('account-1')).map((e) => e.data)).toEqual([{ n: 1 }, { n: 3 }]);
    expect((await store.readStream('account-2')).map((e) => e.data)).toEqual([{ n: 4 }]);
    // Positions have no gap: the rolled-back append left nothing behind.
    expect(
      (outcomes.filter((o) => o.status === 'fulfilled') as PromiseFulfilledResult<AppendResult>[]).map((o) => o.value.position),
    ).toEqual([2n, 3n, 4n]);
    await store.close();
  });

  it('rejects bad input for its caller alone, without touching the others', async () => {
    const store = createSqliteEventStore({ file: files.next() });
    const outcomes = await Promise.allSettled([
      store.appendToStream('account-1', [deposited(1)]),
      store.appendToStream('', [deposited(2)]),
      store.appendToStream('account-2', [{ type: 'account.deposited', data: { n: 10n } }]),
      store.appendToStream('account-3', [deposited(3)]),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason).toBeInstanceOf(ValidationError);
    expect(await store.headPosition()).toBe(2n);
    await store.close();
  });

  it('treats a retry of the same event ids in the same batch as the idempotent retry it is', async () => {
    const store = createSqliteEventStore({ file: files.next() });
    await store.appendToStream('warm-up', [deposited(0)]);
    const id = '0193a3a0-0000-7000-8000-000000000001';
    const [first, retry] = await Promise.all([
      store.appendToStream('account-1', [{ id, ...deposited(1) }], { expectedVersion: 'no_stream' }),
      store.appendToStream('account-1', [{ id, ...deposited(1) }], { expectedVersion: 'no_stream' }),
    ]);
    expect(first).toMatchObject({ written: true, position: 2n, nextExpectedVersion: 1 });
    expect(retry).toMatchObject({ written: false, position: 2n, nextExpectedVersion: 1 });
    expect(await store.readStream('account-1')).toHaveLength(1);
    await store.close();
  });

  it('runs append hooks per append in the shared transaction; a throwing hook fails only its append', async () => {
    const store = createSqliteEventStore({ file: files.next() });
    await store.transaction(async (tx) => {
      await tx.sql.execute('CREATE TABLE balances (stream_id TEXT PRIMARY KEY, total INTEGER NOT NULL)');
    });
    store.addAppendHook(async (events, tx) => {
      const n = (events[0]!.data as { n: number }).n;
      if (n < 0) throw new Error('the read model refuses negative deposits');
      await tx.sql.execute('INSERT INTO balances VALUES ($1, $2) ON CONFLICT (stream_id) DO UPDATE SET total = total + $2', [
        events[0]!.streamId,
        n,
      ]);
    });
    let wakeUps = 0;
    store.onAppended(() => wakeUps++);
    const outcomes = await Promise.allSettled([
      store.appendToStream('account-1', [deposited(5)]),
      store.appendToStream('account-1', [deposited(-1)]),
      store.appendToStream('account-2', [deposited(7)]),
      store.appendToStream('account-1', [deposited(2)]),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect(((outcomes[1] as PromiseRejectedResult).reason as Error).message).toMatch(/negative/);
    expect((await store.readStream('account-1')).map((e) => e.data)).toEqual([{ n: 5 }, { n: 2 }]);
    const balances = await store.transaction((tx) =>
      tx.sql.query<{ stream_id: string; total: number }>('SELECT * FROM balances ORDER BY stream_id'),
    );
    expect(balances).toEqual([
      { stream_id: 'account-1', total: 7 },
      { stream_id: 'account-2', total: 7 },
    ]);
    expect(wakeUps).toBeLessThan(4);
    await store.close();
  });

  it('waits for an open transaction, then commits what queued meanwhile in one batch after it', async () => {
    const file = files.next();
    const store = createSqliteEventStore({ file });
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const open = store.transaction(async (tx) => {
      await tx.appendToStream('account-0', [deposited(0)]);
      await held;
    });
    const appends = Array.from({ length: 8 }, (_, i) => store.appendToStream(`account-${i + 1}`, [deposited(i + 1)]));
    release();
    await open;
    const results = await Promise.all(appends);
    expect(results.map((r) => r.position)).toEqual([2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n]);
    await store.close();
  });

  it('lets close() finish the appends it had already accepted', async () => {
    const file = files.next();
    const store = createSqliteEventStore({ file });
    await store.appendToStream('warm-up', [deposited(0)]);
    const appends = Array.from({ length: 8 }, (_, i) => store.appendToStream(`account-${i}`, [deposited(i)]));
    await store.close();
    expect((await Promise.all(appends)).map((r) => r.position)).toEqual([2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n]);
    const reopened = createSqliteEventStore({ file });
    expect(await reopened.headPosition()).toBe(9n);
    await reopened.close();
  });
});
