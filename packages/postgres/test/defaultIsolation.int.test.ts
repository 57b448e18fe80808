import { ConcurrencyError } from '@tidemark/core';
import { serviceAvailable } from '@tidemark/testing';
import { describe, expect, it } from 'vitest';
import type { PostgresTransaction } from '../src/index.js';
import { storesUnderRole } from './storesUnderRole.js';

const available = await serviceAvailable('postgres');

/** Resolves once `count` callers have arrived: the transactions below read before either appends. */
function barrier(count: number): () => Promise<void> {
  let arrived = 0;
  let open: () => void = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return () => {
    arrived++;
    if (arrived === count) open();
    return opened;
  };
}

describe.skipIf(!available)('PostgreSQL store under a role whose default isolation is REPEATABLE READ', () => {
  const suite = storesUnderRole('fixpg_rr', { default_transaction_isolation: 'repeatable read' });
  const open = (poolSize: number, options: { groupCommit?: boolean } = {}) => suite.open({ poolSize, ...options });

  it("runs its transactions READ COMMITTED, whatever the role's default, and keeps relaxed durability", async () => {
    const store = await open(1);
    // The premise: a bare BEGIN on this role's connections is REPEATABLE READ.
    expect((await store.queries.query<{ level: string }>('SELECT current_setting($1) AS level', ['transaction_isolation']))[0]?.level).toBe(
      'repeatable read',
    );
    const setting = (tx: PostgresTransaction, name: string) =>
      tx.sql.query<{ value: string }>('SELECT current_setting($1) AS value', [name]).then((rows) => rows[0]?.value);
    expect(await store.transaction((tx) => setting(tx, 'transaction_isolation'))).toBe('read committed');
    expect(await store.transaction((tx) => setting(tx, 'synchronous_commit'))).toBe('on');
    const relaxed = await store.transaction(
      async (tx) => [await setting(tx, 'transaction_isolation'), await setting(tx, 'synchronous_commit')],
      { durability: 'relaxed' },
    );
    expect(relaxed).toEqual(['read committed', 'off']);
  });

  it('turns two concurrent transactions appending to one stream into a ConcurrencyError', async () => {
    const store = await open(2);
    const stream = 'acct-plain';
    const bothRead = barrier(2);
    const attempt = () =>
      store.transaction(async (tx) => {
        const events = await tx.readStream(stream);
        await bothRead();
        return tx.appendToStream(stream, [{ type: 'deposited', data: {} }], { expectedVersion: events.length });
      });
    const outcomes = await Promise.allSettled([attempt(), attempt()]);
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
    const failed = outcomes.find((outcome) => outcome.status === 'rejected');
    expect(failed?.reason).toBeInstanceOf(ConcurrencyError);
    expect((await store.readStream(stream)).map((event) => event.version)).toEqual([1]);
  });

  it('runs the losing unit of work again with retry, and both succeed', async () => {
    const store = await open(2);
    const stream = 'acct-retry';
    const bothRead = barrier(2);
    let attempts = 0;
    const attempt = () =>
      store.transaction(
        async (tx) => {
          attempts++;
          const events = await tx.readStream(stream);
          // Only the first attempts meet: a rerun must not wait for a partner that is done.
          if (events.length === 0) await bothRead();
          return tx.appendToStream(stream, [{ type: 'deposited', data: {} }], { expectedVersion: events.length });
        },
        { retry: { maxAttempts: 5 } },
      );
    await Promise.all([attempt(), attempt()]);
    expect(attempts).toBe(3);
    expect((await store.readStream(stream)).map((event) => event.version)).toEqual([1, 2]);
  });

  it('writes every one of many concurrent autocommit appends to one stream', async () => {
    // Autocommit statements take the role's default too; a lost race is run again (mapAppendError).
    for (const groupCommit of [true, false]) {
      const store = await open(4, { groupCommit });
      const stream = `acct-auto${groupCommit ? 'group' : 'plain'}`;
      await Promise.all(Array.from({ length: 40 }, (_, i) => store.appendToStream(stream, [{ type: 'deposited', data: { i } }])));
      expect((await store.readStream(stream)).map((event) => event.version)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    }
  });
});
