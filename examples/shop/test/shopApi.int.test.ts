import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInMemoryEventStore, type EventStore } from '@tidemark/core';
import { createSqliteEventStore } from '@tidemark/sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bankAccountEventTypes } from '../src/bankAccounts/bankAccountEvents.js';
import { amountLimit } from '../src/shared/amountLimit.js';
import { clockPast, type Reply, type ShopClient, startShopServer } from './support/shopClient.js';

// The same HTTP behaviour on the reference in-memory store and on a real SQLite file.
const stores: Array<[string, () => { store: EventStore; cleanup: () => void }]> = [
  ['in-memory', () => ({ store: createInMemoryEventStore(), cleanup: () => {} })],
  [
    'sqlite file',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'shop-api-'));
      return {
        store: createSqliteEventStore({ file: join(dir, 'shop.db') }),
        cleanup: () => rmSync(dir, { recursive: true, force: true }),
      };
    },
  ],
];

const expectError = (reply: Reply, status: number, code: string) => {
  expect(reply.status, JSON.stringify(reply.body)).toBe(status);
  expect(reply.body).toEqual({ error: { code, message: expect.any(String), details: expect.any(Object) } });
};

describe.each(stores)('shop HTTP API on the %s store', (_name, makeStore) => {
  let store: EventStore;
  let client: ShopClient;
  let close: () => Promise<void>;
  let cleanup: () => void;
  let counter = 0;
  /** A fresh id per test, so tests sharing one store never see each other's streams. */
  const fresh = (prefix: string) => `${prefix}${++counter}x${Date.now()}`;

  beforeAll(async () => {
    ({ store, cleanup } = makeStore());
    ({ client, close } = await startShopServer(store));
  });
  afterAll(async () => {
    await close();
    await store.close();
    cleanup();
  });

  /** Runs `request` and proves it wrote nothing at all to the store. */
  async function writesNothing(request: () => Promise<Reply>): Promise<Reply> {
    const before = await store.headPosition();
    const reply = await request();
    expect(await store.headPosition()).toBe(before);
    return reply;
  }

  it('answers /health', async () => {
    const reply = await client.get('/health');
    expect(reply.status).toBe(200);
    expect(reply.body.status).toBe('ok');
  });

  it('the founding bank example: 1,000 + 500 − 200 = 1,300, with its history and its past balances', async () => {
    const accountId = fresh('acct');
    const who = { 'x-user-id': 'alice', 'x-correlation-id': `corr-${accountId}` };
    const opened = await client.post('/accounts', { accountId, owner: 'alice', initialDeposit: 100_000 }, who);
    expect(opened.status).toBe(201);
    expect(opened.headers.get('location')).toBe(`/accounts/${accountId}`);
    expect(opened.body).toMatchObject({ accountId, balance: 100_000, version: 1, position: expect.stringMatching(/^[0-9]+$/) });

    const deposited = await client.post(`/accounts/${accountId}/deposits`, { amount: 50_000 }, who);
    expect(deposited.body).toMatchObject({ balance: 150_000, version: 2 });
    expect(BigInt(deposited.body.position)).toBeGreaterThan(BigInt(opened.body.position));

    // A time strictly after the deposit was recorded and strictly before the withdrawal is.
    const depositEvent = (await client.get(`/accounts/${accountId}/history`)).body.events[1];
    const between = await clockPast(new Date(depositEvent.recordedAt));
    await clockPast(between);

    const withdrawn = await client.post(`/accounts/${accountId}/withdrawals`, { amount: 20_000 }, who);
    expect(withdrawn.status).toBe(200);
    expect(withdrawn.body).toMatchObject({ balance: 130_000, version: 3 });

    const now = await client.get(`/accounts/${accountId}`);
    expect(now.body).toEqual({ accountId, owner: 'alice', status: 'open', balance: 130_000, version: 3 });
    expect(now.headers.get('etag')).toBe('"3"');

    const history = await client.get(`/accounts/${accountId}/history`);
    expect(history.body.events.map((e: { type: string; version: number; data: unknown }) => [e.type, e.version, e.data])).toEqual([
      ['bank.account.opened', 1, { accountId, owner: 'alice', initialDeposit: 100_000, currency: 'USD' }],
      ['bank.account.funds_deposited', 2, { amount: 50_000 }],
      ['bank.account.funds_withdrawn', 3, { amount: 20_000 }],
    ]);
    // bank.account.opened is at v2 (it records the currency), the others at v1.
    expect(history.body.events.map((e: { schemaVersion: number }) => e.schemaVersion)).toEqual([2, 1, 1]);
    for (const event of history.body.events) {
      expect(event.metadata).toMatchObject({ userId: 'alice', correlationId: `corr-${accountId}`, causationId: expect.any(String) });
    }
    // Each request is its own command: distinct causation ids.
    expect(new Set(history.body.events.map((e: { metadata: { causationId: string } }) => e.metadata.causationId)).size).toBe(3);

    expect((await client.get(`/accounts/${accountId}?version=2`)).body).toMatchObject({ balance: 150_000, version: 2 });
    expect((await client.get(`/accounts/${accountId}?version=1`)).body).toMatchObject({ balance: 100_000, version: 1 });
    const asOf = await client.get(`/accounts/${accountId}?asOf=${encodeURIComponent(between.toISOString())}`);
    expect(asOf.body).toMatchObject({ balance: 150_000, version: 2 });
    const beforeOpening = new Date(new Date(history.body.events[0].recordedAt).getTime() - 1).toISOString();
    expectError(await client.get(`/accounts/${accountId}?asOf=${encodeURIComponent(beforeOpening)}`), 404, 'not_found');
    expectError(await client.get(`/accounts/${accountId}?version=0`), 404, 'not_found');
  });

  it('takes any well-formed text as an owner: accents, scripts and emoji (surrogate pairs)', async () => {
    const accountId = fresh('text');
    const owner = 'Zoë Ångström 李 🦊';
    const reply = await client.post('/accounts', { accountId, owner: `  ${owner}\t`, initialDeposit: 1 });
    expect(reply.status, JSON.stringify(reply.body)).toBe(201);
    expect((await client.get(`/accounts/${accountId}`)).body.owner).toBe(owner);
  });

  it('generates an account id when none is given', async () => {
    const reply = await client.post('/accounts', { owner: 'bob', initialDeposit: 0 });
    expect(reply.status).toBe(201);
    expect((await client.get(`/accounts/${reply.body.accountId}`)).body.balance).toBe(0);
  });

  it('bank rules are 422s that write nothing; a missing account is a 404', async () => {
    const accountId = fresh('acct');
    await client.post('/accounts', { accountId, owner: 'alice', initialDeposit: 1_000 });
    const insufficient = await writesNothing(() => client.post(`/accounts/${accountId}/withdrawals`, { amount: 1_001 }));
    expectError(insufficient, 422, 'domain_rule');
    expect(insufficient.body.error.details).toEqual({ accountId, balance: 1_000, requested: 1_001 });
    expectError(await writesNothing(() => client.post('/accounts', { accountId, owner: 'eve', initialDeposit: 5 })), 422, 'domain_rule');
    expectError(await writesNothing(() => client.post(`/accounts/${accountId}/close`)), 422, 'domain_rule');
    expectError(await writesNothing(() => client.post(`/accounts/${fresh('nobody')}/deposits`, { amount: 1 })), 404, 'not_found');
    expectError(await client.get(`/accounts/${fresh('nobody')}`), 404, 'not_found');
    expectError(await client.get(`/accounts/${fresh('nobody')}/history`), 404, 'not_found');
  });

  it('a deposit that would take a balance past the amount limit is a 422 and writes nothing (money stays exact)', async () => {
    const accountId = fresh('rich');
    // Near the limit already: written straight to the store, as a thousand capped deposits would have.
    await store.appendToStream(`account-${accountId}`, [
      { type: 'bank.account.opened', data: { accountId, owner: 'rich', initialDeposit: amountLimit - 5 } },
    ]);
    const refused = await writesNothing(() => client.post(`/accounts/${accountId}/deposits`, { amount: 6 }));
    expectError(refused, 422, 'domain_rule');
    expect(refused.body.error.details).toMatchObject({ balance: amountLimit - 5, amount: 6, limit: amountLimit });
    expect((await client.post(`/accounts/${accountId}/deposits`, { amount: 5 })).body.balance).toBe(amountLimit);
    expect((await client.get(`/accounts/${accountId}`)).body).toMatchObject({ balance: amountLimit, version: 2 });
  });

  it('If-Match pins the expected version: a stale one is a 409 and writes nothing', async () => {
    const accountId = fresh('acct');
    await client.post('/accounts', { accountId, owner: 'alice', initialDeposit: 100 });
    await client.post(`/accounts/${accountId}/deposits`, { amount: 1 });
    const stale = await writesNothing(() => client.post(`/accounts/${accountId}/deposits`, { amount: 5 }, { 'if-match': '"1"' }));
    expectError(stale, 409, 'concurrency');
    expect(stale.body.error.details).toMatchObject({ expected: 1, actual: 2 });
    const current = await client.post(`/accounts/${accountId}/deposits`, { amount: 5 }, { 'if-match': '"2"' });
    expect(current.body).toMatchObject({ balance: 106, version: 3 });
    expect((await client.post(`/accounts/${accountId}/deposits`, { amount: 1 }, { 'if-match': '3' })).status).toBe(200);
    expectError(
      await writesNothing(() => client.post(`/accounts/${accountId}/deposits`, { amount: 1 }, { 'if-match': 'soon' })),
      400,
      'validation',
    );
    // Half an ETag is not one: an unbalanced quote was read as the version inside it.
    for (const ifMatch of ['"4', '4"', 'W/"4', '""4""']) {
      expectError(
        await writesNothing(() => client.post(`/accounts/${accountId}/deposits`, { amount: 1 }, { 'if-match': ifMatch })),
        400,
        'validation',
      );
    }
    expect((await client.post(`/accounts/${accountId}/deposits`, { amount: 1 }, { 'if-match': 'W/"4"' })).status).toBe(200);
  });

  it('concurrent deposits lose no update: each one is applied exactly once or refused with a 409', async () => {
    const accountId = fresh('acct');
    await client.post('/accounts', { accountId, owner: 'alice', initialDeposit: 0 });
    const replies = await Promise.all(
      Array.from({ length: 12 }, (_, i) => client.post(`/accounts/${accountId}/deposits`, { amount: 2 ** i })),
    );
    const accepted = replies.filter((reply) => reply.status === 200);
    for (const reply of replies) if (reply.status !== 200) expectError(reply, 409, 'concurrency');
    expect(accepted.length).toBeGreaterThan(0);
    // Powers of two: the final balance names exactly which deposits were applied.
    const applied = replies.reduce((sum, reply, i) => (reply.status === 200 ? sum + 2 ** i : sum), 0);
    const account = (await client.get(`/accounts/${accountId}`)).body;
    expect(account.balance).toBe(applied);
    expect(account.version).toBe(1 + accepted.length);
    expect(new Set(accepted.map((reply) => reply.body.version)).size).toBe(accepted.length);
  });

  it('records exactly the event names and schema versions each context declares', async () => {
    const accountId = fresh('acct');
    await client.post('/accounts', { accountId, owner: 'alice', initialDeposit: 5 });
    await client.post(`/accounts/${accountId}/deposits`, { amount: 5 });
    await client.post(`/accounts/${accountId}/withdrawals`, { amount: 10 });
    await client.post(`/accounts/${accountId}/close`);
    const declared = Object.values(bankAccountEventTypes).map(({ type, schemaVersion }) => [type, schemaVersion]);
    const recorded = (await client.get(`/accounts/${accountId}/history`)).body.events.map((e: { type: string; schemaVersion: number }) => [
      e.type,
      e.schemaVersion,
    ]);
    expect(recorded).toEqual(declared);
  });

  it('orders: draft → items → placed, and every rule is a 422', async () => {
    const orderId = fresh('ord');
    const created = await client.post('/orders', { orderId, customerId: 'c-1' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ orderId, customerId: 'c-1', status: 'draft', lines: [], total: 0, version: 1 });

    expectError(await writesNothing(() => client.post(`/orders/${orderId}/place`)), 422, 'domain_rule');
    expectError(await writesNothing(() => client.post('/orders', { orderId, customerId: 'c-2' })), 422, 'domain_rule');

    await client.post(`/orders/${orderId}/items`, { sku: 'apple', quantity: 2, unitPrice: 50 });
    await client.post(`/orders/${orderId}/items`, { sku: 'pear', quantity: 1, unitPrice: 99 });
    const merged = await client.post(`/orders/${orderId}/items`, { sku: 'apple', quantity: 1, unitPrice: 50 });
    expect(merged.body.lines).toEqual([
      { sku: 'apple', quantity: 3, unitPrice: 50 },
      { sku: 'pear', quantity: 1, unitPrice: 99 },
    ]);
    expectError(
      await writesNothing(() => client.post(`/orders/${orderId}/items`, { sku: 'apple', quantity: 1, unitPrice: 51 })),
      422,
      'domain_rule',
    );
    expectError(await writesNothing(() => client.delete(`/orders/${orderId}/items/plum`)), 422, 'domain_rule');
    const removed = await client.delete(`/orders/${orderId}/items/pear`);
    expect(removed.body).toMatchObject({ total: 150, version: 5 });

    // Clients often label an empty body as JSON: that is no body, not a malformed one.
    const placed = await client.request('POST', `/orders/${orderId}/place`, { raw: '', headers: { 'content-type': 'application/json' } });
    expect(placed.body).toMatchObject({ status: 'placed', total: 150, version: 6 });
    expectError(await writesNothing(() => client.post(`/orders/${orderId}/place`)), 422, 'domain_rule');
    expectError(
      await writesNothing(() => client.post(`/orders/${orderId}/items`, { sku: 'kiwi', quantity: 1, unitPrice: 1 })),
      422,
      'domain_rule',
    );

    const cancelled = await client.post(`/orders/${orderId}/cancel`, { reason: 'out of budget' });
    expect(cancelled.body).toMatchObject({ status: 'cancelled', version: 7 });
    // Cancelling again is a retry: accepted, nothing new.
    const again = await writesNothing(() => client.post(`/orders/${orderId}/cancel`));
    expect(again.body).toMatchObject({ status: 'cancelled', version: 7 });
    expect((await client.get(`/orders/${orderId}`)).body).toMatchObject({ status: 'cancelled', version: 7 });

    expectError(await writesNothing(() => client.post(`/orders/${fresh('nope')}/place`)), 404, 'not_found');
    expectError(await client.get(`/orders/${fresh('nope')}`), 404, 'not_found');
  });

  it('inventory: receive, reserve idempotently per order, release; insufficient stock is a 422', async () => {
    const sku = fresh('sku');
    const received = await client.post(`/inventory/${sku}/receipts`, { quantity: 10 });
    expect(received.body).toMatchObject({ sku, onHand: 10, reserved: 0, available: 10, version: 1 });

    const reserved = await client.post(`/inventory/${sku}/reservations`, { orderId: 'o-1', quantity: 4 });
    expect(reserved.body).toMatchObject({ available: 6, reservations: [{ orderId: 'o-1', quantity: 4 }], version: 2 });
    const retried = await writesNothing(() => client.post(`/inventory/${sku}/reservations`, { orderId: 'o-1', quantity: 4 }));
    expect(retried.body).toMatchObject({ available: 6, version: 2 });
    expectError(
      await writesNothing(() => client.post(`/inventory/${sku}/reservations`, { orderId: 'o-1', quantity: 5 })),
      422,
      'domain_rule',
    );

    const short = await writesNothing(() => client.post(`/inventory/${sku}/reservations`, { orderId: 'o-2', quantity: 7 }));
    expectError(short, 422, 'domain_rule');
    expect(short.body.error.details).toEqual({ sku, available: 6, requested: 7 });

    const released = await client.delete(`/inventory/${sku}/reservations/o-1`);
    expect(released.body).toMatchObject({ available: 10, reservations: [], version: 3 });
    expect((await writesNothing(() => client.delete(`/inventory/${sku}/reservations/o-1`))).status).toBe(200);
    expect((await client.get(`/inventory/${sku}`)).body).toMatchObject({ onHand: 10, available: 10, version: 3 });

    expectError(await client.get(`/inventory/${fresh('ghost')}`), 404, 'not_found');
    expectError(
      await writesNothing(() => client.post(`/inventory/${fresh('ghost')}/reservations`, { orderId: 'o-1', quantity: 1 })),
      404,
      'not_found',
    );
  });

  describe('bad input: a typed error body, never a 500, nothing written', () => {
    let accountId: string;
    beforeAll(async () => {
      accountId = fresh('acct');
      await client.post('/accounts', { accountId, owner: 'alice', initialDeposit: 1_000 });
    });

    const json = { 'content-type': 'application/json' };
    const cases: Array<[string, (c: ShopClient, id: string) => Promise<Reply>, number, string]> = [
      [
        'malformed JSON',
        (c, id) => c.request('POST', `/accounts/${id}/deposits`, { raw: '{"amount":', headers: json }),
        400,
        'malformed_request',
      ],
      ['an empty JSON body', (c, id) => c.request('POST', `/accounts/${id}/deposits`, { raw: '', headers: json }), 400, 'validation'],
      [
        'a poisoned __proto__',
        (c, id) => c.request('POST', `/accounts/${id}/deposits`, { raw: '{"amount":1,"__proto__":{"x":1}}', headers: json }),
        400,
        'malformed_request',
      ],
      ['no body at all', (c, id) => c.request('POST', `/accounts/${id}/deposits`), 400, 'validation'],
      ['a JSON array body', (c, id) => c.post(`/accounts/${id}/deposits`, [1]), 400, 'validation'],
      ['a missing field', (c) => c.post('/accounts', { owner: 'x' }), 400, 'validation'],
      ['an unknown field', (c, id) => c.post(`/accounts/${id}/deposits`, { amount: 1, currency: 'EUR' }), 400, 'validation'],
      ['a negative amount', (c, id) => c.post(`/accounts/${id}/deposits`, { amount: -5 }), 400, 'validation'],
      ['a fractional amount', (c, id) => c.post(`/accounts/${id}/withdrawals`, { amount: 1.5 }), 400, 'validation'],
      ['an amount as a string', (c, id) => c.post(`/accounts/${id}/deposits`, { amount: '5' }), 400, 'validation'],
      ['a zero amount', (c, id) => c.post(`/accounts/${id}/deposits`, { amount: 0 }), 400, 'validation'],
      ['an absurd amount', (c, id) => c.post(`/accounts/${id}/deposits`, { amount: 1e300 }), 400, 'validation'],
      ['a blank owner', (c) => c.post('/accounts', { owner: '   ', initialDeposit: 1 }), 400, 'validation'],
      // Free text is copied into read-model TEXT columns: a NUL or a lone surrogate would poison them (issue 8 item 11).
      ['an owner with a NUL', (c) => c.post('/accounts', { owner: 'a\u0000b', initialDeposit: 1 }), 400, 'validation'],
      ['an owner with a lone surrogate', (c) => c.post('/accounts', { owner: 'a\ud800b', initialDeposit: 1 }), 400, 'validation'],
      ['an owner with a terminal escape', (c) => c.post('/accounts', { owner: '\u001b[31mred', initialDeposit: 1 }), 400, 'validation'],
      ['an owner with a line break inside', (c) => c.post('/accounts', { owner: 'a\nb', initialDeposit: 1 }), 400, 'validation'],
      ['an over-long owner', (c) => c.post('/accounts', { owner: 'o'.repeat(201), initialDeposit: 1 }), 400, 'validation'],
      // Lengths are UTF-16 units, as the deciders count them: 101 emoji are 202 (zod's max counts 101 code points).
      ['an owner of 101 emoji', (c) => c.post('/accounts', { owner: '\u{1F600}'.repeat(101), initialDeposit: 1 }), 400, 'validation'],
      ['a cancel reason of 251 emoji', (c) => c.post('/orders/o1/cancel', { reason: '\u{1F600}'.repeat(251) }), 400, 'validation'],
      ['a cancel reason with a NUL', (c) => c.post('/orders/o1/cancel', { reason: 'no\u0000' }), 400, 'validation'],
      ['a cancel reason with a lone surrogate', (c) => c.post('/orders/o1/cancel', { reason: '\udc00' }), 400, 'validation'],
      ['an id with a percent-encoded NUL', (c) => c.post('/accounts/a%00b/deposits', { amount: 1 }), 400, 'validation'],
      ['an id with a space', (c) => c.post('/accounts/bad%20id/deposits', { amount: 1 }), 400, 'validation'],
      ['an over-long id', (c) => c.post(`/accounts/${'a'.repeat(65)}/deposits`, { amount: 1 }), 400, 'validation'],
      [
        'an id with a control character',
        (c) => c.post('/accounts', { accountId: 'a\u0001b', owner: 'x', initialDeposit: 1 }),
        400,
        'validation',
      ],
      [
        'an over-long x-user-id',
        (c, id) => c.post(`/accounts/${id}/deposits`, { amount: 1 }, { 'x-user-id': 'u'.repeat(200) }),
        400,
        'validation',
      ],
      [
        'a text/plain body',
        (c, id) => c.request('POST', `/accounts/${id}/deposits`, { raw: 'amount=5', headers: { 'content-type': 'text/plain' } }),
        400,
        'validation',
      ],
      [
        'an unsupported media type',
        (c, id) =>
          c.request('POST', `/accounts/${id}/deposits`, { raw: '<amount>5</amount>', headers: { 'content-type': 'application/xml' } }),
        415,
        'unsupported_media_type',
      ],
      ['a bad asOf', (c, id) => c.get(`/accounts/${id}?asOf=yesterday`), 400, 'validation'],
      ['a bad version', (c, id) => c.get(`/accounts/${id}?version=-1`), 400, 'validation'],
      ['a zero quantity', (c) => c.post('/inventory/apple/receipts', { quantity: 0 }), 400, 'validation'],
      ['an order line without a price', (c) => c.post('/orders/o1/items', { sku: 'apple', quantity: 1 }), 400, 'validation'],
      ['an unknown route', (c) => c.post('/accounts/x/teleport', { amount: 1 }), 404, 'not_found'],
      [
        'a body over the limit',
        (c, id) => c.post(`/accounts/${id}/deposits`, { amount: 1, pad: 'x'.repeat(1024 * 1024 + 1) }),
        413,
        'payload_too_large',
      ],
    ];

    it.each(cases)('%s', async (_what, send, status, code) => {
      expectError(await writesNothing(() => send(client, accountId)), status, code);
      expect((await client.get(`/accounts/${accountId}`)).body.balance).toBe(1_000);
    });
  });
});

describe('shop HTTP API: the store refuses an oversized event', () => {
  it('maps PayloadTooLargeError to 413 and writes nothing', async () => {
    const store = createInMemoryEventStore({ limits: { maxEventBytes: 256 } });
    const { client, close } = await startShopServer(store);
    try {
      const reply = await client.post(
        '/accounts',
        { accountId: 'big', owner: 'o'.repeat(200), initialDeposit: 1 },
        { 'x-user-id': 'alice' },
      );
      expectError(reply, 413, 'payload_too_large');
      expect(reply.body.error.details).toMatchObject({ limit: 256 });
      expect(await store.headPosition()).toBe(0n);
      expect((await client.post('/accounts', { accountId: 'small', owner: 'o', initialDeposit: 1 })).status).toBe(201);
    } finally {
      await close();
    }
  });
});
