import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { handleCommand } from '@tidemark/core';
import { createSqliteCheckpointStore, createSqliteEventStore } from '@tidemark/sqlite';
import { expect, it } from 'vitest';
import { bankAccountStreamId } from '../../src/bankAccounts/bankAccountCommands.js';
import { bankAccountDecider } from '../../src/bankAccounts/bankAccountDecider.js';
import { orderStreamId } from '../../src/orders/orderCommands.js';
import { orderDecider } from '../../src/orders/orderDecider.js';
import { createShopReadModels } from '../../src/readModels/shopReadModels.js';

it('answers reads from the read model when it has caught up, from the events when it is behind — the same view either way', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tidemark-shoprm-'));
  const store = createSqliteEventStore({ file: join(dir, 'shop.db') });
  const readModels = createShopReadModels({ store, checkpoints: createSqliteCheckpointStore(), readYourWritesTimeoutMs: 2000 });
  try {
    await readModels.start();
    const account = (command: Parameters<typeof bankAccountDecider.decide>[0]) =>
      handleCommand(store, bankAccountDecider, bankAccountStreamId('a1'), command);
    await account({ type: 'bank.account.open', data: { accountId: 'a1', owner: 'alice', initialDeposit: 1000 } });
    await account({ type: 'bank.account.deposit', data: { accountId: 'a1', amount: 500 } });
    const withdrawn = await account({ type: 'bank.account.withdraw', data: { accountId: 'a1', amount: 200 } });
    const order = (command: Parameters<typeof orderDecider.decide>[0]) => handleCommand(store, orderDecider, orderStreamId('o1'), command);
    await order({ type: 'sales.order.create', data: { orderId: 'o1', customerId: 'c1' } });
    await order({ type: 'sales.order.add_item', data: { orderId: 'o1', sku: 'a', quantity: 3, unitPrice: 150 } });
    const placed = await order({ type: 'sales.order.place', data: { orderId: 'o1' } });

    // Seed 003's example: 1,000 + 500 − 200 = 1,300, read straight after the write.
    const fromModel = await readModels.accounts.get('a1', { minPosition: withdrawn.position });
    expect(fromModel).toEqual({
      source: 'read-model',
      view: { accountId: 'a1', owner: 'alice', balance: 1300, status: 'open', version: 3 },
    });
    const orderFromModel = await readModels.orders.get('o1', { minPosition: placed.position });
    expect(orderFromModel).toEqual({
      source: 'read-model',
      view: { orderId: 'o1', customerId: 'c1', status: 'placed', itemCount: 3, total: 450 },
    });
    expect(await readModels.waitForPosition(placed.position, 2000)).toBe(true);
    expect((await readModels.customerOrders('c1')).map((row) => row.orderId)).toEqual(['o1']);
    const today = new Date().toISOString().slice(0, 10);
    expect(await readModels.dailyStats(today, today)).toEqual([{ day: today, orderCount: 1, totalValue: '450', cancelledCount: 0 }]);

    // Projectors stopped: the read model falls behind, and the caller still reads its write.
    await readModels.stop();
    const deposited = await account({ type: 'bank.account.deposit', data: { accountId: 'a1', amount: 1 } });
    expect(await readModels.accounts.get('a1', { minPosition: deposited.position })).toEqual({
      source: 'events',
      view: { accountId: 'a1', owner: 'alice', balance: 1301, status: 'open', version: 4 },
    });
    const fromEvents = await readModels.orders.get('o1', { minPosition: deposited.position });
    expect(fromEvents).toEqual({ ...orderFromModel, source: 'events' });
    // Without a position the (stale) read model is an acceptable answer.
    expect(await readModels.accounts.get('a1')).toMatchObject({ source: 'read-model', view: { balance: 1300 } });
  } finally {
    await readModels.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
