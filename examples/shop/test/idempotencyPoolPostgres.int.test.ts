import { randomBytes } from 'node:crypto';
import { serviceAvailable, serviceUrls } from '@tidemark/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Shop } from '../src/createShop.js';
import type { ShopClient } from './support/shopClient.js';
import { startShop } from './support/startShop.js';

const postgres = await serviceAvailable('postgres');

/**
 * A command with an Idempotency-Key runs in one store transaction, which holds a pooled
 * connection while the account's snapshot and its owner's key are read on other connections of
 * the same pool (both by design autocommit statements outside the transaction). With as many
 * keyed requests in flight as the pool has connections, every transaction waited for a
 * connection none would give back: the whole server stalled for the pool's connection timeout,
 * then answered every one of them 503. They must all succeed, promptly.
 */
describe.skipIf(!postgres)('concurrent Idempotency-Key requests on PostgreSQL', () => {
  const schema = `shop_${randomBytes(5).toString('hex')}`;
  let shop: Shop;
  let client: ShopClient;

  beforeAll(async () => {
    ({ shop, client } = await startShop({ config: { dataDir: '/nonexistent-not-used', database: { url: serviceUrls.postgres, schema } } }));
  });
  afterAll(async () => {
    await shop?.close();
    const admin = new pg.Client({ connectionString: serviceUrls.postgres });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  });

  it('serves more keyed account commands at once than the pool has connections, without stalling', async () => {
    const opened = await client.post('/accounts', { accountId: 'acc-1', owner: 'Ada', initialDeposit: 0 });
    expect(opened.status, JSON.stringify(opened.body)).toBe(201);
    const n = 30; // the shop's pool has 10
    const started = Date.now();
    const replies = await Promise.all([
      ...Array.from({ length: n }, (_, i) => client.post('/accounts/acc-1/deposits', { amount: 1 }, { 'idempotency-key': `dep-${i}` })),
      ...Array.from({ length: n }, (_, i) =>
        client.post('/accounts', { owner: 'Bo', initialDeposit: 1 }, { 'idempotency-key': `open-${i}` }),
      ),
    ]);
    const statuses = replies.map((reply) => reply.status);
    expect(
      statuses.filter((s) => s >= 500),
      JSON.stringify(replies.find((r) => r.status >= 500)?.body),
    ).toEqual([]);
    expect(statuses.filter((s) => s === 200)).toHaveLength(n);
    expect(statuses.filter((s) => s === 201)).toHaveLength(n);
    // Well under the pool's 10 s connection timeout, which the stalled server waited out.
    expect(Date.now() - started).toBeLessThan(8000);
    expect((await client.get('/accounts/acc-1')).body.balance).toBe(n);
  }, 60_000);
});
