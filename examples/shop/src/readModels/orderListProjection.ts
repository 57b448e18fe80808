import type { Projection, RecordedEvent, SqlExecutor, SqlQueries, SqlTransaction, StoreTransaction } from '@tidemark/core';
import type { OrderEvent, OrderLine } from '../orders/orderEvents.js';
import { orderEventTypes } from '../orders/orderEvents.js';

type SqlTx = StoreTransaction & SqlTransaction;

/** A row of the order list (seed 003's OrderListReadModel), one per order. Money in integer cents. */
export interface OrderListRow {
  orderId: string;
  customerId: string;
  status: 'draft' | 'placed' | 'cancelled';
  itemCount: number;
  total: number;
  createdAt: Date;
  placedAt?: Date;
  cancelledAt?: Date;
  /** Position of the last event folded into this row: compare with a command's position. */
  lastPosition: bigint;
}

const orderIdOf = (event: RecordedEvent) => event.streamId.slice('order-'.length);

/**
 * The order list per customer, newest first. Items live in a line table so that removing a
 * line can be applied without reading the order's stream; the list row's count and total are
 * recomputed from it in SQL. Dialect-neutral SQL: it runs unchanged on SQLite and PostgreSQL.
 */
export const orderListProjection: Projection<SqlTx> = {
  name: 'shop.order_list',
  // Types alone select these events; a category filter too would only slow PostgreSQL's readAll plan.
  types: Object.values(orderEventTypes).map((t) => t.type),
  tables: ['shop_order_list', 'shop_order_lines'],
  async setup(tx, tables) {
    const list = tables.name('shop_order_list');
    const lines = tables.name('shop_order_lines');
    await tx.sql.execute(`CREATE TABLE IF NOT EXISTS ${list} (
      order_id TEXT PRIMARY KEY,
      customer_id TEXT NOT NULL,
      status TEXT NOT NULL,
      item_count BIGINT NOT NULL,
      total BIGINT NOT NULL,
      created_at TEXT NOT NULL,
      created_position BIGINT NOT NULL,
      placed_at TEXT,
      cancelled_at TEXT,
      last_position BIGINT NOT NULL
    )`);
    await tx.sql.execute(`CREATE INDEX IF NOT EXISTS ${list}_by_customer ON ${list} (customer_id, created_position DESC)`);
    await tx.sql.execute(`CREATE TABLE IF NOT EXISTS ${lines} (
      order_id TEXT NOT NULL,
      sku TEXT NOT NULL,
      quantity BIGINT NOT NULL,
      unit_price BIGINT NOT NULL,
      PRIMARY KEY (order_id, sku)
    )`);
  },
  async apply(events, tx, tables) {
    const list = tables.name('shop_order_list');
    const lines = tables.name('shop_order_lines');
    const sql = tx.sql;
    for (const raw of events) {
      // The union discriminates on a DomainEvent, not on RecordedEvent's separate type and data fields.
      const event = { type: raw.type, data: raw.data } as OrderEvent;
      const orderId = orderIdOf(raw);
      const at = raw.recordedAt.toISOString();
      switch (event.type) {
        case 'sales.order.created':
          await sql.execute(
            `INSERT INTO ${list} (order_id, customer_id, status, item_count, total, created_at, created_position, last_position)
             VALUES ($1, $2, 'draft', 0, 0, $3, $4, $4)`,
            [orderId, event.data.customerId, at, raw.position],
          );
          break;
        case 'sales.order.item_added': {
          const line: OrderLine = event.data;
          await sql.execute(
            `INSERT INTO ${lines} (order_id, sku, quantity, unit_price) VALUES ($1, $2, $3, $4)
             ON CONFLICT (order_id, sku) DO UPDATE SET quantity = ${lines}.quantity + excluded.quantity`,
            [orderId, line.sku, line.quantity, line.unitPrice],
          );
          await recomputeTotals(sql, list, lines, orderId, raw.position);
          break;
        }
        case 'sales.order.item_removed':
          await sql.execute(`DELETE FROM ${lines} WHERE order_id = $1 AND sku = $2`, [orderId, event.data.sku]);
          await recomputeTotals(sql, list, lines, orderId, raw.position);
          break;
        case 'sales.order.placed':
          await sql.execute(`UPDATE ${list} SET status = 'placed', total = $2, placed_at = $3, last_position = $4 WHERE order_id = $1`, [
            orderId,
            event.data.total,
            at,
            raw.position,
          ]);
          break;
        case 'sales.order.cancelled':
          await sql.execute(`UPDATE ${list} SET status = 'cancelled', cancelled_at = $2, last_position = $3 WHERE order_id = $1`, [
            orderId,
            at,
            raw.position,
          ]);
          break;
      }
    }
  },
};

async function recomputeTotals(sql: SqlExecutor, list: string, lines: string, orderId: string, position: bigint): Promise<void> {
  await sql.execute(
    `UPDATE ${list} SET
       item_count = (SELECT COALESCE(SUM(quantity), 0) FROM ${lines} WHERE order_id = $1),
       total = (SELECT COALESCE(SUM(quantity * unit_price), 0) FROM ${lines} WHERE order_id = $1),
       last_position = $2
     WHERE order_id = $1`,
    [orderId, position],
  );
}

function toRow(row: Record<string, unknown>): OrderListRow {
  return {
    orderId: String(row.order_id),
    customerId: String(row.customer_id),
    status: row.status as OrderListRow['status'],
    itemCount: Number(row.item_count),
    total: Number(row.total),
    createdAt: new Date(String(row.created_at)),
    ...(row.placed_at != null && { placedAt: new Date(String(row.placed_at)) }),
    ...(row.cancelled_at != null && { cancelledAt: new Date(String(row.cancelled_at)) }),
    lastPosition: BigInt(row.last_position as string | number),
  };
}

/** A customer's orders, newest first (by log position, which breaks same-millisecond ties), one page at a time. */
export async function listCustomerOrders(
  sql: SqlQueries,
  customerId: string,
  page: { page?: number; pageSize?: number } = {},
): Promise<OrderListRow[]> {
  const pageSize = Math.min(Math.max(1, Math.trunc(page.pageSize ?? 20)), 100);
  const offset = (Math.max(1, Math.trunc(page.page ?? 1)) - 1) * pageSize;
  const rows = await sql.query(`SELECT * FROM shop_order_list WHERE customer_id = $1 ORDER BY created_position DESC LIMIT $2 OFFSET $3`, [
    customerId,
    pageSize,
    offset,
  ]);
  return rows.map(toRow);
}

export async function findOrderListRow(sql: SqlQueries, orderId: string): Promise<OrderListRow | undefined> {
  const rows = await sql.query(`SELECT * FROM shop_order_list WHERE order_id = $1`, [orderId]);
  return rows[0] && toRow(rows[0]);
}
