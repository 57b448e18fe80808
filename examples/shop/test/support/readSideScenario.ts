import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import type { Shop } from '../../src/createShop.js';
import type { ShopClient } from './shopClient.js';

const dayOffset = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);

/**
 * The read side over HTTP, the same on every backend: order lists per customer (paged, newest
 * first), daily analytics, read-your-writes on balances with and without a running projector,
 * /projections and /metrics. Ids are random, so a shared database cannot confuse two runs.
 */
export async function readSideScenario({ shop, client, url }: { shop: Shop; client: ShopClient; url: string }): Promise<void> {
  const run = randomBytes(4).toString('hex');
  const alice = `alice-${run}`;
  const bob = `bob-${run}`;

  // --- order lists: three orders for alice, two for bob, interleaved --------------------------
  let last = 0;
  const send = async (path: string, json?: unknown) => {
    const reply = await client.post(path, json);
    expect(reply.status, JSON.stringify(reply.body)).toBeLessThan(300);
    last = Math.max(last, reply.body.position);
  };
  const order = async (orderId: string, customerId: string, lines: Array<[string, number, number]>, then: 'place' | 'cancel' | 'draft') => {
    await send('/orders', { orderId, customerId });
    for (const [sku, quantity, unitPrice] of lines) await send(`/orders/${orderId}/items`, { sku, quantity, unitPrice });
    if (then !== 'draft') await send(`/orders/${orderId}/place`);
    if (then === 'cancel') await send(`/orders/${orderId}/cancel`, { reason: 'changed mind' });
  };
  await order(`a1-${run}`, alice, [['sku-1', 2, 150]], 'place'); // 300
  await order(`b1-${run}`, bob, [['sku-2', 1, 1000]], 'place'); // 1000
  await order(
    `a2-${run}`,
    alice,
    [
      ['sku-1', 1, 150],
      ['sku-3', 4, 25],
    ],
    'cancel',
  ); // placed 250, then cancelled
  await order(`a3-${run}`, alice, [], 'draft');
  await order(`b2-${run}`, bob, [['sku-2', 3, 1000]], 'place'); // 3000

  const page1 = await client.get(`/customers/${alice}/orders?pageSize=2&minPosition=${last}`);
  expect(page1.status).toBe(200);
  expect(page1.body).toMatchObject({ customerId: alice, page: 1, pageSize: 2, caughtUp: true, source: 'read-model' });
  expect(page1.body.orders.map((o: { orderId: string }) => o.orderId)).toEqual([`a3-${run}`, `a2-${run}`]);
  expect(page1.body.orders[0]).toMatchObject({ status: 'draft', itemCount: 0, total: 0 });
  expect(page1.body.orders[1]).toMatchObject({ status: 'cancelled', itemCount: 5, total: 250 });
  const page2 = await client.get(`/customers/${alice}/orders?page=2&pageSize=2`);
  expect(page2.body.orders.map((o: { orderId: string; total: number }) => [o.orderId, o.total])).toEqual([[`a1-${run}`, 300]]);
  expect((await client.get(`/customers/${alice}/orders?page=3&pageSize=2`)).body.orders).toEqual([]);
  const bobs = await client.get(`/customers/${bob}/orders`, { 'x-min-position': String(last) });
  expect(bobs.body.orders.map((o: { orderId: string }) => o.orderId)).toEqual([`b2-${run}`, `b1-${run}`]);
  expect((await client.get(`/customers/nobody-${run}/orders`)).body.orders).toEqual([]);

  // --- daily analytics: a window around today, so a run across midnight still counts every order
  const stats = await client.get(`/analytics/daily-orders?from=${dayOffset(-1)}&to=${dayOffset(1)}&minPosition=${last}`);
  expect(stats.status).toBe(200);
  expect(stats.body.caughtUp).toBe(true);
  // Four placed (one of them later cancelled); drafts are not orders yet.
  expect(stats.body.totals).toEqual({ orderCount: 4, totalValue: String(300 + 1000 + 250 + 3000), cancelledCount: 1 });
  expect(stats.body.days.reduce((n: number, d: { orderCount: number }) => n + d.orderCount, 0)).toBe(4);
  expect((await client.get(`/analytics/daily-orders?from=2001-01-01&to=2001-01-31`)).body).toMatchObject({
    days: [],
    totals: { orderCount: 0, totalValue: '0', cancelledCount: 0 },
  });

  // --- read-your-writes on a balance ----------------------------------------------------------
  const accountId = `acc-${run}`;
  expect((await client.post('/accounts', { accountId, owner: 'carol', initialDeposit: 100_000 })).status).toBe(201);
  const deposited = await client.post(`/accounts/${accountId}/deposits`, { amount: 50_000 });
  expect(deposited.status).toBe(200);
  const fresh = await client.get(`/accounts/${accountId}/balance?minPosition=${deposited.body.position}`);
  expect(fresh.status).toBe(200);
  expect(fresh.body).toEqual({ accountId, owner: 'carol', balance: 150_000, status: 'open', version: 2, source: 'read-model' });
  const withdrawn = await client.post(`/accounts/${accountId}/withdrawals`, { amount: 20_000 });
  expect((await client.get(`/accounts/${accountId}/balance`, { 'x-min-position': String(withdrawn.body.position) })).body).toMatchObject({
    balance: 130_000,
    version: 3,
    source: 'read-model',
  });

  // --- /projections and /metrics while everything runs ----------------------------------------
  const head = BigInt((await client.get('/health')).body.headPosition as string);
  expect(await shop.readModels.waitForPosition(head, 30_000)).toBe(true);
  const projections = await client.get('/projections');
  expect(projections.status).toBe(200);
  expect(projections.body.projections.map((p: { name: string }) => p.name).sort()).toEqual([
    'shop.account_balances',
    'shop.daily_order_stats',
    'shop.order_list',
  ]);
  for (const p of projections.body.projections) {
    expect(p).toMatchObject({ state: 'running', error: null, lag: { events: 0, seconds: 0 } });
    expect(BigInt(p.checkpoint)).toBeGreaterThanOrEqual(head);
    expect(p.eventsProcessed).toBeGreaterThan(0);
  }
  const metrics = await fetch(`${url}/metrics`);
  expect(metrics.status).toBe(200);
  expect(metrics.headers.get('content-type')).toContain('text/plain');
  const text = await metrics.text();
  for (const name of ['shop.order_list', 'shop.daily_order_stats', 'shop.account_balances']) {
    expect(text).toContain(`tidemark_projection_events_behind{projection="${name}"} 0`);
    expect(text).toMatch(new RegExp(`tidemark_projection_lag_seconds\\{projection="${name.replace('.', '\\.')}"\\} 0`));
    expect(text).toMatch(new RegExp(`tidemark_projection_events_applied_total\\{projection="${name.replace('.', '\\.')}"\\} [1-9]`));
  }

  // --- the projector stopped: the read model falls behind, the caller still reads its write ---
  await shop.readModels.stop();
  const late = await client.post(`/accounts/${accountId}/deposits`, { amount: 1 });
  const fromEvents = await client.get(`/accounts/${accountId}/balance?minPosition=${late.body.position}`);
  expect(fromEvents.body).toEqual({ accountId, owner: 'carol', balance: 130_001, status: 'open', version: 4, source: 'events' });
  // Without a position the stale row is an acceptable answer — and shows the fallback was needed.
  expect((await client.get(`/accounts/${accountId}/balance`)).body).toMatchObject({ balance: 130_000, source: 'read-model' });
  const behind = await client.get('/projections');
  const balances = behind.body.projections.find((p: { name: string }) => p.name === 'shop.account_balances');
  expect(balances).toMatchObject({ state: 'stopped', lag: { events: 1 } });
  expect(await (await fetch(`${url}/metrics`)).text()).toContain('tidemark_projection_events_behind{projection="shop.account_balances"} 1');
}
