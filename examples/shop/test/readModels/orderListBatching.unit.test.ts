import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { handleCommand, rebuildProjection, type SqlTransaction, type StoreTransaction, type TableSwap } from '@tidemark/core';
import { createSqliteCheckpointStore, createSqliteEventStore, createSqliteTableSwap } from '@tidemark/sqlite';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type OrderCommand, orderStreamId } from '../../src/orders/orderCommands.js';
import { orderDecider, orderItemCount, orderTotal } from '../../src/orders/orderDecider.js';
import { orderListProjection } from '../../src/readModels/orderListProjection.js';
import { readModelDump } from './readModelDump.js';

type SqlTx = StoreTransaction & SqlTransaction;

const orderIds = ['o1', 'o2', 'o3'];
const skus = ['a', 'b'];

/** Commands on a few orders; the decider refuses the invalid ones (adding to a placed order…), which write nothing. */
const commandArbitrary: fc.Arbitrary<OrderCommand> = fc.oneof(
  fc.constantFrom(...orderIds).map((orderId) => ({ type: 'sales.order.create' as const, data: { orderId, customerId: 'c1' } })),
  fc
    .record({ orderId: fc.constantFrom(...orderIds), sku: fc.constantFrom(...skus), quantity: fc.integer({ min: 1, max: 3 }) })
    .map(({ orderId, sku, quantity }) => ({
      type: 'sales.order.add_item' as const,
      data: { orderId, sku, quantity, unitPrice: sku === 'a' ? 100 : 250 },
    })),
  fc
    .record({ orderId: fc.constantFrom(...orderIds), sku: fc.constantFrom(...skus) })
    .map((data) => ({ type: 'sales.order.remove_item' as const, data })),
  fc.constantFrom(...orderIds).map((orderId) => ({ type: 'sales.order.place' as const, data: { orderId } })),
  fc.constantFrom(...orderIds).map((orderId) => ({ type: 'sales.order.cancel' as const, data: { orderId } })),
);

describe('the order list folds a batch per order and per line', () => {
  it('builds the same rows from one batch as from one event per batch (removes followed by adds, repeated adds, place then cancel)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(commandArbitrary, { minLength: 1, maxLength: 40 }), async (commands) => {
        const dir = mkdtempSync(join(tmpdir(), 'tidemark-orderlist-'));
        const store = createSqliteEventStore({ file: join(dir, 'shop.db'), synchronous: 'NORMAL' });
        try {
          for (const command of commands) {
            await handleCommand(store, orderDecider, orderStreamId(command.data.orderId), command).catch(() => undefined);
          }
          const rebuild = async (batchSize: number) => {
            const options = { store, projection: orderListProjection, checkpoints: createSqliteCheckpointStore(), batchSize };
            await rebuildProjection({ ...options, swap: createSqliteTableSwap() as TableSwap<SqlTx> });
            return readModelDump(store, ['orders', 'lines']);
          };
          if ((await store.headPosition()) === 0n) return;
          const oneBatch = (await rebuild(1000)) as { orders: Record<string, unknown>[]; lines: Record<string, unknown>[] };
          expect(oneBatch).toEqual(await rebuild(1));
          // And both agree with the write side: each row is a fold of its order's stream.
          for (const orderId of orderIds) {
            const { state, exists } = await store.aggregateStream(orderStreamId(orderId), orderDecider);
            const row = oneBatch.orders.find((r) => r.order_id === orderId);
            if (!exists) {
              expect(row).toBeUndefined();
              continue;
            }
            expect(row).toMatchObject({ status: state.status, total: orderTotal(state.lines), item_count: orderItemCount(state.lines) });
            const lines = oneBatch.lines.filter((l) => l.order_id === orderId).map((l) => [l.sku, l.quantity, l.unit_price]);
            expect(lines).toEqual(
              state.lines.map((l) => [l.sku, l.quantity, l.unitPrice]).sort((x, y) => String(x[0]).localeCompare(String(y[0]))),
            );
          }
        } finally {
          await store.close();
          rmSync(dir, { recursive: true, force: true });
        }
      }),
      { numRuns: 50 },
    );
  });
});
