import { serviceAvailable } from '@tidemark/testing';
import { afterAll, describe, expect, it } from 'vitest';
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

  it('with preparedStatements: false leaves no named prepared statement on the server connection', async () => {
    expect(await preparedAfterWork(true)).toBeGreaterThan(0);
    expect(await preparedAfterWork(false)).toBe(0);
  });
});
