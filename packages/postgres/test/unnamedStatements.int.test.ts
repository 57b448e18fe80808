import { StoreMisconfiguredError } from '@tidemark/core';
import { serviceAvailable } from '@tidemark/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { statementPrefix } from '../src/eventStore/statementPrefix.js';
import { createStoreFactory } from './testSchemas.js';

const available = await serviceAvailable('postgres');

describe.skipIf(!available)('PostgreSQL store behind a transaction-mode pooler', () => {
  const stores = createStoreFactory();
  afterAll(() => stores.cleanup());

  async function preparedAfterWork(preparedStatements: boolean): Promise<number> {
    // One connection, so the statement count below is that of the connection the store used.
    const store = await stores.create({ poolSize: 1, preparedStatements });
    await store.appendToStream('a-1', [{ type: 'added', data: {} }]);
    await store.transaction((tx) => tx.appendToStream('a-1', [{ type: 'added', data: {} }]));
    await store.readStream('a-1');
    for await (const _ of store.readAll()) {
      // drain
    }
    await store.headPosition();
    const { rows } = await store.pool.query('SELECT count(*)::int AS n FROM pg_prepared_statements');
    return rows[0].n as number;
  }

  it("names the option when the store's statement names meet another client's on a shared connection", async () => {
    // What a transaction-mode pooler does: another client prepared the same name on the server
    // connection this store's client now uses, which the client cannot know.
    const store = await stores.create({ poolSize: 1 });
    await store.pool.query(`PREPARE "${statementPrefix(store.schema)}:readForwards" AS SELECT 1`);
    const failure = await store.readStream('a-1').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StoreMisconfiguredError);
    expect(failure).toMatchObject({ code: 'misconfigured', details: { sqlState: '42P05', option: 'preparedStatements' } });
    expect((failure as Error).message).toContain('preparedStatements: false');
  });

  it('with preparedStatements: false leaves no named prepared statement on the server connection', async () => {
    expect(await preparedAfterWork(true)).toBeGreaterThan(0);
    expect(await preparedAfterWork(false)).toBe(0);
  });
});
