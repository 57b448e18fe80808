import { randomBytes } from 'node:crypto';
import { serviceAvailable, serviceUrls } from '@tidemark/testing';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { bankAccountStreamId } from '../src/bankAccounts/bankAccountCommands.js';
import { startShop } from './support/startShop.js';

const postgres = await serviceAvailable('postgres');

describe.skipIf(!postgres)('a busy account (issue 8 item 15)', () => {
  const schema = `shop_${randomBytes(5).toString('hex')}`;
  const cleanups: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    const admin = new pg.Client({ connectionString: serviceUrls.postgres });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  });

  it('200 parallel plain deposits through two servers on one database: no 409, each applied once or answered 503 with Retry-After', async () => {
    const config = { dataDir: '/nonexistent-not-used', database: { url: serviceUrls.postgres, schema } };
    const first = await startShop({ config });
    cleanups.push(() => first.shop.close());
    const second = await startShop({ config });
    cleanups.push(() => second.shop.close());

    const opened = await first.client.post('/accounts', { owner: 'busy', initialDeposit: 0 });
    expect(opened.status).toBe(201);
    const accountId = opened.body.accountId as string;
    // No If-Match: the conflicts between these requests are the servers' to resolve.
    const replies = await Promise.all(
      Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? first : second).client.post(`/accounts/${accountId}/deposits`, { amount: 1 })),
    );
    const statuses = replies.map((reply) => reply.status);
    expect(statuses.filter((status) => status !== 200 && status !== 503)).toEqual([]);
    for (const reply of replies.filter((r) => r.status === 503)) {
      expect(reply.body.error.code).toBe('retries_exhausted');
      expect(Number(reply.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
    const applied = replies.filter((reply) => reply.status === 200);
    // Every 200 got its own version: each deposit written once, none lost.
    expect(new Set(applied.map((reply) => reply.body.version)).size).toBe(applied.length);
    const deposits = (await first.shop.store.readStream(bankAccountStreamId(accountId))).filter(
      (event) => event.type === 'bank.account.funds_deposited',
    );
    expect(deposits).toHaveLength(applied.length);
    expect(applied.length).toBeGreaterThan(0);
  }, 120_000);
});
