import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInMemoryEventStore, createInMemoryIdempotencyKeyStore, type EventStore, type IdempotencyKeyStore } from '@tidemark/core';
import { createSqliteEventStore, createSqliteIdempotencyKeyStore } from '@tidemark/sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ShopClient, startShopServer } from './support/shopClient.js';

const stores: Array<[string, () => { store: EventStore; keys: IdempotencyKeyStore; cleanup: () => void }]> = [
  ['in-memory', () => ({ store: createInMemoryEventStore(), keys: createInMemoryIdempotencyKeyStore(), cleanup: () => {} })],
  [
    'sqlite file',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'shop-idem-'));
      return {
        store: createSqliteEventStore({ file: join(dir, 'shop.db') }),
        keys: createSqliteIdempotencyKeyStore() as IdempotencyKeyStore,
        cleanup: () => rmSync(dir, { recursive: true, force: true }),
      };
    },
  ],
];

describe.each(stores)('Idempotency-Key on the shop write endpoints (%s store)', (_name, makeStore) => {
  let store: EventStore;
  let client: ShopClient;
  let close: () => Promise<void>;
  let cleanup: () => void;
  let counter = 0;
  const fresh = (prefix: string) => `${prefix}${++counter}x${Date.now()}`;

  beforeAll(async () => {
    const made = makeStore();
    ({ store, cleanup } = made);
    ({ client, close } = await startShopServer(store, { idempotencyKeys: made.keys }));
  });
  afterAll(async () => {
    await close();
    await store.close();
    cleanup();
  });

  it('answers a repeated request with the first response and writes nothing more', async () => {
    const key = fresh('key-');
    const open = () => client.post('/accounts', { owner: 'Ada', initialDeposit: 500 }, { 'idempotency-key': key });
    const first = await open();
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    const head = await store.headPosition();
    const again = await open();
    expect(again.status).toBe(201);
    // The server made the account id: the replay names the same account, in the body and the location.
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('location')).toBe(`/accounts/${first.body.accountId}`);
    expect(await store.headPosition()).toBe(head);
    expect(await store.readStream(`account-${first.body.accountId}`)).toHaveLength(1);

    // The payment-charge example: a retried deposit is applied once.
    const depositKey = fresh('dep-');
    const deposit = () => client.post(`/accounts/${first.body.accountId}/deposits`, { amount: 250 }, { 'idempotency-key': depositKey });
    const d1 = await deposit();
    const d2 = await deposit();
    expect(d1.status).toBe(200);
    expect(d2.body).toEqual(d1.body);
    const account = await client.get(`/accounts/${first.body.accountId}`);
    expect(account.body.balance).toBe(750);
  });

  it('refuses the same key with a different request: 422, JSON error body, nothing written', async () => {
    const key = fresh('key-');
    const first = await client.post('/accounts', { owner: 'Bob', initialDeposit: 100 }, { 'idempotency-key': key });
    expect(first.status).toBe(201);
    const head = await store.headPosition();
    const other = await client.post('/accounts', { owner: 'Bob', initialDeposit: 999 }, { 'idempotency-key': key });
    expect(other.status).toBe(422);
    expect(other.body).toEqual({ error: { code: 'idempotency_key_reused', message: expect.any(String), details: expect.any(Object) } });
    expect(await store.headPosition()).toBe(head);
    // The same key on another endpoint is another key.
    const order = await client.post('/orders', { customerId: 'c1' }, { 'idempotency-key': key });
    expect(order.status).toBe(201);
  });

  it('keeps a key unused when the command is refused, so a corrected retry can use it', async () => {
    const key = fresh('key-');
    const order = await client.post('/orders', { customerId: 'c2' });
    const place = () => client.post(`/orders/${order.body.orderId}/place`, undefined, { 'idempotency-key': key });
    const refused = await place(); // an empty order cannot be placed
    expect(refused.status).toBe(422);
    expect(refused.body.error.code).toBe('domain_rule');
    await client.post(`/orders/${order.body.orderId}/items`, { sku: 'sku-1', quantity: 1, unitPrice: 100 });
    const placed = await place();
    expect(placed.status).toBe(200);
    expect(placed.body.status).toBe('placed');
  });

  it('answers a stale If-Match with 409 under a key too, and keeps the key unused', async () => {
    const opened = await client.post('/accounts', { owner: 'Dan', initialDeposit: 10 });
    await client.post(`/accounts/${opened.body.accountId}/deposits`, { amount: 1 });
    const key = fresh('key-');
    const stale = await client.post(
      `/accounts/${opened.body.accountId}/deposits`,
      { amount: 5 },
      { 'idempotency-key': key, 'if-match': '"1"' },
    );
    expect(stale.status).toBe(409);
    const fresh2 = await client.post(
      `/accounts/${opened.body.accountId}/deposits`,
      { amount: 5 },
      { 'idempotency-key': key, 'if-match': '"2"' },
    );
    expect(fresh2.status).toBe(200);
  });

  it('refuses a malformed key with 400 and writes nothing', async () => {
    const head = await store.headPosition();
    for (const key of ['x'.repeat(256), 'tab\there', 'é']) {
      const reply = await client.post('/accounts', { owner: 'Eve', initialDeposit: 1 }, { 'idempotency-key': key });
      expect(reply.status, key).toBe(400);
    }
    expect(await store.headPosition()).toBe(head);
  });
});

describe('Idempotency-Key on a shop without a key store', () => {
  it('is refused with 400 rather than silently ignored', async () => {
    const store = createInMemoryEventStore();
    const { client, close } = await startShopServer(store);
    const reply = await client.post('/accounts', { owner: 'Ann', initialDeposit: 1 }, { 'idempotency-key': 'k-1' });
    expect(reply.status).toBe(400);
    expect(await store.headPosition()).toBe(0n);
    await close();
  });
});
