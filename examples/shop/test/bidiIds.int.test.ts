import { createInMemoryEventStore } from '@tidemark/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Reply, type ShopClient, startShopServer } from './support/shopClient.js';

/**
 * Ids holding a Unicode bidirectional control ("Trojan Source", CVE-2021-42574) would show as
 * another id in the dashboard, the CLI and logs: every route taking one answers 400 with the
 * shop's JSON error body, and nothing is appended. `order-\u202E1-dlo` reads as "order-old-1".
 * Over a real socket, as the other HTTP tests: the command routes read `headersDistinct`, which
 * fastify's `inject` does not provide.
 */
describe('ids with bidirectional controls are a 400 with the JSON error body', () => {
  const store = createInMemoryEventStore();
  const rlo = '\u202e';
  const encoded = encodeURIComponent(rlo); // %E2%80%AE
  let client: ShopClient;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ client, close } = await startShopServer(store));
    expect((await client.post('/accounts', { accountId: 'acc-1', owner: 'Ada', initialDeposit: 10 })).status).toBe(201);
    expect((await client.post('/orders', { orderId: 'ord-1', customerId: 'cust-1' })).status).toBe(201);
  });
  afterAll(() => close());

  const expectRefused = (reply: Reply) => {
    expect(reply.status, JSON.stringify(reply.body)).toBe(400);
    expect(reply.headers.get('content-type')).toContain('application/json');
    expect(reply.body.error.code).toBe('validation');
    expect(reply.body.error.message).toBeTypeOf('string');
    expect(reply.body.error.details).toBeTypeOf('object');
  };

  it.each([
    ['an order id', '/orders', { orderId: `ord-${rlo}1-dlo`, customerId: 'cust-1' }],
    ['a customer id', '/orders', { orderId: 'ord-2', customerId: 'cust-\u20661\u2069' }],
    ['an account id', '/accounts', { accountId: 'acc-\u200f2', owner: 'Ada', initialDeposit: 10 }],
    ['a sku', '/orders/ord-1/items', { sku: `sku-${rlo}1`, quantity: 1, unitPrice: 100 }],
    ['an order id in a reservation', '/inventory/sku-1/reservations', { orderId: 'ord-\u061c1', quantity: 1 }],
  ])('refuses %s in a request body, appending nothing', async (_name, url, payload) => {
    const head = await store.headPosition();
    expectRefused(await client.post(url, payload));
    expect(await store.headPosition()).toBe(head);
  });

  it.each([
    ['GET', `/orders/ord-${encoded}1`],
    ['GET', `/accounts/acc-${encoded}1`],
    ['GET', `/accounts/acc-${encoded}1/history`],
    ['GET', `/inventory/sku-${encodeURIComponent('\u2067')}1`],
    ['POST', `/orders/ord-${encoded}1/place`],
    ['POST', `/accounts/acc-${encodeURIComponent('\u200e')}1/close`],
    ['DELETE', `/orders/ord-1/items/sku-${encoded}1`],
    ['DELETE', `/inventory/sku-1/reservations/ord-${encoded}1`],
  ])('refuses %s %s, an id in the path', async (method, url) => {
    const head = await store.headPosition();
    expectRefused(await client.request(method, url));
    expect(await store.headPosition()).toBe(head);
  });

  it('still takes them in free text, which is not an id: an owner name in Hebrew with a right-to-left mark', async () => {
    const owner = 'אדה\u200f';
    const reply = await client.post('/accounts', { accountId: 'acc-3', owner, initialDeposit: 10 });
    expect(reply.status, JSON.stringify(reply.body)).toBe(201);
    const [opened] = await store.readStream('account-acc-3');
    expect(opened?.data).toMatchObject({ owner });
  });
});
