import {
  type CheckpointStore,
  createFallbackReadRepository,
  createProjector,
  type EventStore,
  handleCommand,
  type Projector,
  type RebuildProgress,
  rebuildProjection,
  type SqlTransaction,
  type StoreTransaction,
  type TableSwap,
} from '@tidemark/core';
import { expect } from 'vitest';
import { bankAccountStreamId } from '../../src/bankAccounts/bankAccountCommands.js';
import { bankAccountDecider } from '../../src/bankAccounts/bankAccountDecider.js';
import { orderStreamId } from '../../src/orders/orderCommands.js';
import { orderDecider, orderTotal } from '../../src/orders/orderDecider.js';
import { findAccountBalance } from '../../src/readModels/accountBalanceProjection.js';
import { dailyOrderStats } from '../../src/readModels/dailyOrderStatsProjection.js';
import { findOrderListRow, listCustomerOrders, type OrderListRow } from '../../src/readModels/orderListProjection.js';
import { shopProjections } from '../../src/readModels/shopProjections.js';
import { readModelDump } from './readModelDump.js';

type SqlTx = StoreTransaction & SqlTransaction;

/** A deterministic pseudo-random workload (xorshift), so a failure reproduces. */
function random(seed: number) {
  let x = seed || 1;
  return (n: number) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return Math.abs(x) % n;
  };
}

/** Drives the shop's deciders through handleCommand; returns the last position written. */
export async function runWorkload(store: EventStore<SqlTx>, seed: number, size: number): Promise<bigint> {
  const pick = random(seed);
  let last = 0n;
  const track = (position: bigint) => {
    if (position > last) last = position;
  };
  const prefix = `s${seed}`;
  for (let a = 0; a < 4; a++) {
    const accountId = `${prefix}a${a}`;
    track(
      (
        await handleCommand(store, bankAccountDecider, bankAccountStreamId(accountId), {
          type: 'bank.account.open',
          data: { accountId, owner: `owner-${a}`, initialDeposit: 1000 },
        })
      ).position,
    );
  }
  for (let i = 0; i < size; i++) {
    const accountId = `${prefix}a${pick(4)}`;
    const deposit = pick(2) === 0;
    const amount = 1 + pick(500);
    try {
      track(
        (
          await handleCommand(store, bankAccountDecider, bankAccountStreamId(accountId), {
            type: deposit ? 'bank.account.deposit' : 'bank.account.withdraw',
            data: { accountId, amount },
          })
        ).position,
      );
    } catch {
      // Insufficient funds: a rejected command writes nothing, which is part of the test too.
    }
    const orderId = `${prefix}o${i}`;
    const stream = orderStreamId(orderId);
    const customerId = `c${pick(3)}`;
    track((await handleCommand(store, orderDecider, stream, { type: 'sales.order.create', data: { orderId, customerId } })).position);
    const skus = 1 + pick(3);
    for (let s = 0; s < skus; s++) {
      const command = {
        type: 'sales.order.add_item' as const,
        data: { orderId, sku: `sku-${s}`, quantity: 1 + pick(3), unitPrice: 100 * (s + 1) },
      };
      track((await handleCommand(store, orderDecider, stream, command)).position);
    }
    if (skus > 1 && pick(3) === 0) {
      track(
        (await handleCommand(store, orderDecider, stream, { type: 'sales.order.remove_item', data: { orderId, sku: 'sku-0' } })).position,
      );
    }
    const fate = pick(4);
    if (fate > 0) track((await handleCommand(store, orderDecider, stream, { type: 'sales.order.place', data: { orderId } })).position);
    if (fate === 3 || fate === 0) {
      track((await handleCommand(store, orderDecider, stream, { type: 'sales.order.cancel', data: { orderId } })).position);
    }
  }
  return last;
}

export function startShopProjectors(store: EventStore<SqlTx>, checkpoints: CheckpointStore<SqlTx>): Promise<Projector[]> {
  const projectors = shopProjections.map((projection) =>
    createProjector({ store, projection, checkpoints, batchSize: 50, pollIntervalMs: 200 }),
  );
  return Promise.all(projectors.map((p) => p.start())).then(() => projectors);
}

async function waitAll(projectors: Projector[], position: bigint): Promise<void> {
  for (const projector of projectors) {
    expect(
      await projector.waitForPosition(position, { timeoutMs: 20_000 }),
      `${projector.name} reaches ${position}: ${JSON.stringify(projector.status(), (_key, value) => (typeof value === 'bigint' ? String(value) : value))}`,
    ).toBe(true);
  }
}

/**
 * The whole read side on one SQL store: three read models from the same events, checked
 * against folds of the write side; paging; analytics totals; rebuild-and-swap while the
 * projectors run and writes continue; read-your-writes through the fallback repository.
 */
export async function readModelScenario(
  store: EventStore<SqlTx>,
  checkpoints: CheckpointStore<SqlTx>,
  swap: TableSwap<SqlTx>,
  seed: number,
  orderCount = 40,
): Promise<void> {
  const projectors = await startShopProjectors(store, checkpoints);
  try {
    const head = await runWorkload(store, seed, orderCount);
    await waitAll(projectors, head);

    // Every order row equals a fold of its stream.
    const orders = await store.transaction((tx) => tx.sql.query<{ order_id: string }>('SELECT order_id FROM shop_order_list'));
    expect(orders.length).toBe(orderCount);
    let placedTotal = 0;
    let placedCount = 0;
    let cancelledCount = 0;
    for (const { order_id: orderId } of orders) {
      const { state } = await store.aggregateStream(orderStreamId(orderId), orderDecider);
      const row = (await store.transaction((tx) => findOrderListRow(tx.sql, orderId))) as OrderListRow;
      expect(row).toMatchObject({ customerId: state.customerId, status: state.status, total: orderTotal(state.lines) });
      expect(row.itemCount).toBe(state.lines.reduce((n, line) => n + line.quantity, 0));
      const stream = await store.readStream(orderStreamId(orderId));
      if (stream.some((e) => e.type === 'sales.order.placed')) {
        placedCount++;
        placedTotal += orderTotal(state.lines);
      }
      if (state.status === 'cancelled') cancelledCount++;
    }
    const stats = await store.transaction((tx) => dailyOrderStats(tx.sql, '2000-01-01', '2999-12-31'));
    expect(stats.reduce((n, day) => n + day.orderCount, 0)).toBe(placedCount);
    expect(stats.reduce((n, day) => n + Number(day.totalValue), 0)).toBe(placedTotal);
    expect(stats.reduce((n, day) => n + day.cancelledCount, 0)).toBe(cancelledCount);

    for (let a = 0; a < 4; a++) {
      const accountId = `s${seed}a${a}`;
      const folded = await store.aggregateStream(bankAccountStreamId(accountId), bankAccountDecider);
      const row = await store.transaction((tx) => findAccountBalance(tx.sql, accountId));
      expect(row).toMatchObject({ balance: folded.state.balance, version: folded.version, status: 'open' });
    }

    // Paging: newest first, pages partition the customer's orders.
    const all = await store.transaction((tx) => listCustomerOrders(tx.sql, 'c0', { pageSize: 100 }));
    const paged = [
      ...(await store.transaction((tx) => listCustomerOrders(tx.sql, 'c0', { page: 1, pageSize: 3 }))),
      ...(await store.transaction((tx) => listCustomerOrders(tx.sql, 'c0', { page: 2, pageSize: 3 }))),
    ];
    expect(paged.map((r) => r.orderId)).toEqual(all.slice(0, 6).map((r) => r.orderId));
    const createdOrder = all.map((r) => Number(r.orderId.replace(`s${seed}o`, '')));
    expect(createdOrder).toEqual([...createdOrder].sort((x, y) => y - x));

    // Rebuild every projection while the projectors run and more commands arrive.
    const before = await readModelDump(store);
    const progress: RebuildProgress[] = [];
    const writer = runWorkload(store, seed + 1, 10);
    for (const projection of shopProjections) {
      await rebuildProjection({ store, projection, checkpoints, swap, batchSize: 37, onProgress: (p) => progress.push(p) });
    }
    const head2 = await writer;
    await waitAll(projectors, head2);
    expect(progress.at(-1)).toMatchObject({ phase: 'done', fraction: 1 });
    expect(progress.some((p) => p.phase === 'replaying' && p.fraction < 1 && p.etaSeconds !== undefined)).toBe(true);
    // A second, from-scratch rebuild while nothing moves must reproduce exactly what the projectors built.
    const afterLive = await readModelDump(store);
    for (const projection of shopProjections) await rebuildProjection({ store, projection, checkpoints, swap });
    for (const projector of projectors) expect(await projector.waitForPosition(head2, { timeoutMs: 20_000 })).toBe(true);
    const rebuilt = (await readModelDump(store)) as Record<string, unknown[]>;
    for (const key of Object.keys(rebuilt)) expect(rebuilt[key], key).toEqual((afterLive as Record<string, unknown[]>)[key]);
    expect(afterLive).not.toEqual(before);

    // Read-your-writes: a running projector answers from the read model…
    const orderList = projectors[0] as Projector;
    const repository = createFallbackReadRepository({
      store,
      evolver: orderDecider,
      streamId: orderStreamId,
      query: (id) => store.transaction((tx) => findOrderListRow(tx.sql, id)),
      fromState: (id, { state }) => ({ orderId: id, customerId: state.customerId, status: state.status, total: orderTotal(state.lines) }),
      waitForPosition: (position, timeoutMs) => orderList.waitForPosition(position, { timeoutMs }),
      timeoutMs: 30_000, // generous: a transaction elsewhere on a shared PostgreSQL server holds every reader back
    });
    const orderId = `rw${seed}`;
    await handleCommand(store, orderDecider, orderStreamId(orderId), { type: 'sales.order.create', data: { orderId, customerId: 'c9' } });
    const placed = await handleCommand(store, orderDecider, orderStreamId(orderId), {
      type: 'sales.order.add_item',
      data: { orderId, sku: 'x', quantity: 2, unitPrice: 250 },
    });
    const fresh = await repository.get(orderId, { minPosition: placed.position });
    expect(fresh).toMatchObject({ source: 'read-model', view: { status: 'draft', total: 500 } });

    // …and a stopped one makes it fall back to the events, which still have the caller's write.
    await orderList.stop();
    const more = await handleCommand(store, orderDecider, orderStreamId(orderId), { type: 'sales.order.place', data: { orderId } });
    const repositoryFast = createFallbackReadRepository({
      store,
      evolver: orderDecider,
      streamId: orderStreamId,
      query: (id) => store.transaction((tx) => findOrderListRow(tx.sql, id)),
      fromState: (id, { state }) => ({ orderId: id, customerId: state.customerId, status: state.status, total: orderTotal(state.lines) }),
      waitForPosition: (position, timeoutMs) => orderList.waitForPosition(position, { timeoutMs }),
      timeoutMs: 50,
    });
    expect(await repositoryFast.get(orderId, { minPosition: more.position })).toMatchObject({
      source: 'events',
      view: { status: 'placed', total: 500 },
    });
    expect(await repositoryFast.get('no-such-order')).toEqual({ source: 'events', view: undefined });
  } finally {
    for (const projector of projectors) await projector.stop();
  }
}
