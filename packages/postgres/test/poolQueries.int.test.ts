import { ValidationError } from '@tidemark/core';
import { serviceAvailable, serviceUrls } from '@tidemark/testing';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createStoreFactory } from './testSchemas.js';

const available = await serviceAvailable('postgres');

describe.skipIf(!available)('store.queries on PostgreSQL: one read statement, never a transaction left open', () => {
  const stores = createStoreFactory();
  afterAll(() => stores.cleanup());

  it('refuses a statement that opens a transaction, and the appends after it really commit', async () => {
    // One connection: whatever the refused statement did to it, the appends below use it next.
    const store = await stores.create({ poolSize: 1 });
    for (const sql of ['BEGIN', 'START TRANSACTION READ ONLY', 'begin isolation level serializable']) {
      await expect(store.queries.query(sql), sql).rejects.toThrow(ValidationError);
    }
    for (let i = 0; i < 5; i++) await store.appendToStream(`order-${i}`, [{ type: 'order.placed', data: { i } }]);
    // Seen from another connection: committed, not held in a transaction on the pooled one.
    const other = new pg.Client({ connectionString: serviceUrls.postgres });
    await other.connect();
    try {
      const { rows } = await other.query(`SELECT count(*)::int AS n FROM "${store.schema}".events`);
      expect(rows[0].n).toBe(5);
    } finally {
      await other.end();
    }
  });

  it('runs one statement with or without parameters, and refuses a script of several', async () => {
    const store = await stores.create({ poolSize: 1 });
    expect(await store.queries.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    expect(await store.queries.query('SELECT $1::int + 1 AS n', [41])).toEqual([{ n: 42 }]);
    await expect(store.queries.query('SELECT 1; BEGIN')).rejects.toThrow(/multiple commands/);
    expect(await store.queries.query("SELECT current_setting('transaction_isolation') AS level")).toHaveLength(1);
  });
});
