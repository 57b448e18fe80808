import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NewEvent } from '@tidemark/core';
import { serviceAvailable, serviceUrls } from '@tidemark/testing';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import type { ShopOptions } from '../../src/createShop.js';
import { amountLimit } from '../../src/shared/amountLimit.js';
import { startShop } from '../support/startShop.js';

const postgres = await serviceAvailable('postgres');
const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

/** An order of one line, placed: what the order decider writes, at the largest total it allows. */
function placedOrder(orderId: string, unitPrice: number): NewEvent[] {
  const lines = [{ sku: 'gold', quantity: 1, unitPrice }];
  return [
    { type: 'sales.order.created', data: { orderId, customerId: 'whale' } },
    { type: 'sales.order.item_added', data: lines[0] },
    { type: 'sales.order.placed', data: { orderId, customerId: 'whale', lines, total: unitPrice } },
  ];
}

const backends: Array<[string, () => { config: ShopOptions['config']; cleanup: () => Promise<void> }]> = [
  [
    'SQLite',
    () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'shop-totals-'));
      return { config: { dataDir }, cleanup: async () => rmSync(dataDir, { recursive: true, force: true }) };
    },
  ],
  [
    'PostgreSQL',
    () => {
      const schema = `shop_totals_${randomBytes(5).toString('hex')}`;
      return {
        config: { dataDir: '/nonexistent-not-used', database: { url: serviceUrls.postgres, schema } },
        cleanup: async () => {
          const admin = new pg.Client({ connectionString: serviceUrls.postgres });
          await admin.connect();
          await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
          await admin.end();
        },
      };
    },
  ],
];

describe.each(backends)('daily order totals past 2^53 on %s (issue 8 item 12)', (name, makeBackend) => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it.skipIf(name === 'PostgreSQL' && !postgres)(
    'are summed and served exactly, as decimal strings',
    async () => {
      const backend = makeBackend();
      cleanups.push(backend.cleanup);
      const { shop, client } = await startShop({ config: backend.config });
      cleanups.push(() => shop.close());

      // Ten orders at the per-order limit and one of a cent: 10^16 + 1, which no double holds.
      for (let i = 0; i < 10; i++) await shop.store.appendToStream(`order-big${i}`, placedOrder(`big${i}`, amountLimit));
      const last = await shop.store.appendToStream('order-small', placedOrder('small', 1));
      const expected = (10n * BigInt(amountLimit) + 1n).toString();
      expect(BigInt(Number(expected))).not.toBe(BigInt(expected));

      const reply = await client.get(`/analytics/daily-orders?from=${day(-1)}&to=${day(1)}&minPosition=${last.position}`);
      expect(reply.status).toBe(200);
      expect(reply.body.caughtUp).toBe(true);
      expect(reply.body.totals).toEqual({ orderCount: 11, totalValue: expected, cancelledCount: 0 });
      const sum = (reply.body.days as Array<{ totalValue: string }>).reduce((n, d) => n + BigInt(d.totalValue), 0n);
      expect(sum.toString()).toBe(expected);
      // One order at the limit is still an exact number in the order list.
      expect((await client.get(`/customers/whale/orders?minPosition=${last.position}`)).body.orders).toContainEqual(
        expect.objectContaining({ orderId: 'big0', total: amountLimit, itemCount: 1 }),
      );
    },
    60_000,
  );
});
