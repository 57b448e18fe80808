import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventSchemaError } from '@tidemark/core';
import { createSqliteEventStore } from '@tidemark/sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { bankAccountStreamId } from '../src/bankAccounts/bankAccountCommands.js';
import { orderStreamId } from '../src/orders/orderCommands.js';
import { startShop } from './support/startShop.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A data directory holding what the shop wrote before v2: events without a currency, at v1. */
async function dataDirWithV1Events(): Promise<string> {
  const dataDir = mkdtempSync(join(tmpdir(), 'shop-versions-'));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const old = createSqliteEventStore({ file: join(dataDir, 'shop.db') });
  await old.appendToStream(bankAccountStreamId('old-1'), [
    { type: 'bank.account.opened', data: { accountId: 'old-1', owner: 'olga', initialDeposit: 1_000 } },
    { type: 'bank.account.funds_deposited', data: { amount: 500 } },
  ]);
  await old.appendToStream(orderStreamId('old-order'), [
    { type: 'sales.order.created', data: { orderId: 'old-order', customerId: 'c-1' } },
    { type: 'sales.order.item_added', data: { sku: 'apple', quantity: 2, unitPrice: 50 } },
  ]);
  await old.close();
  return dataDir;
}

describe('the shop reads the events it wrote before their v2', () => {
  it('upcasts v1 accounts and orders (currency USD), keeps working on them, and writes new events as v2', async () => {
    const { shop, client } = await startShop({ config: { dataDir: await dataDirWithV1Events() } });
    cleanups.push(() => shop.close());

    const history = (await client.get('/accounts/old-1/history')).body.events;
    expect(history[0]).toMatchObject({
      type: 'bank.account.opened',
      schemaVersion: 2,
      data: { accountId: 'old-1', owner: 'olga', initialDeposit: 1_000, currency: 'USD' },
    });
    expect((await client.post('/accounts/old-1/withdrawals', { amount: 200 })).body).toMatchObject({ balance: 1_300, version: 3 });
    expect((await client.get('/orders/old-order')).body).toMatchObject({ status: 'draft', total: 100, version: 2 });
    expect((await client.post('/orders/old-order/place')).status).toBe(200);

    const opened = await client.post('/accounts', { accountId: 'new-1', owner: 'nina', initialDeposit: 10 });
    expect(opened.status).toBe(201);
    // As stored, not as read: the new event is v2 and carries its currency.
    const stored = await shop.store.queries.query<{ schema_version: number; data: string }>(
      'SELECT schema_version, data FROM events WHERE stream_id = $1',
      [bankAccountStreamId('new-1')],
    );
    expect(stored.map((row) => [row.schema_version, JSON.parse(row.data).currency])).toEqual([[2, 'USD']]);
    const registered = await shop.store.eventSchemas?.list();
    expect(registered?.map((entry) => `${entry.type} v${entry.version}`)).toEqual([
      'bank.account.opened v1',
      'bank.account.opened v2',
      'sales.order.created v1',
      'sales.order.created v2',
    ]);
  });

  it('refuses a v2 event failing its schema, naming the path, and writes nothing', async () => {
    const { shop } = await startShop({ config: { dataDir: await dataDirWithV1Events() } });
    cleanups.push(() => shop.close());
    const head = await shop.store.headPosition();
    const refused = await shop.store
      .appendToStream(bankAccountStreamId('bad-1'), [
        { type: 'bank.account.funds_deposited', data: { amount: 1 } },
        { type: 'bank.account.opened', schemaVersion: 2, data: { accountId: 'bad-1', owner: 'b', initialDeposit: 1, currency: 'dollars' } },
      ])
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(EventSchemaError);
    expect((refused as EventSchemaError).details).toMatchObject({ index: 1, issues: [{ path: 'currency' }] });
    expect(await shop.store.headPosition()).toBe(head);
  });
});
