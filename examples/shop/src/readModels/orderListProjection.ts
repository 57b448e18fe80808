import type { Projection, RecordedEvent, SqlQueries, SqlTransaction, StoreTransaction } from '@tidemark/core';
import type { OrderEvent, OrderLine } from '../orders/orderEvents.js';
import { orderEventTypes } from '../orders/orderEvents.js';
import { chunks, placeholders } from './sqlValues.js';

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
 * recomputed from it in SQL. Each batch is folded per order and per line first, then written
 * with a few multi-row statements. Dialect-neutral SQL: it runs unchanged on SQLite and
 * PostgreSQL.
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
    const batch = foldOrderBatch(events);
    // A few statements per batch, not one or two per event: the batch's transaction holds
    // PostgreSQL's readable horizon for as long as it runs (see accountBalanceProjection).
    // Order matters: orders exist before their lines, lines before the totals recomputed from
    // them, and the status (with the total as placed) comes last.
    for (const rows of chunks(batch.created)) {
      await sql.execute(
        `INSERT INTO ${list} (order_id, customer_id, status, item_count, total, created_at, created_position, last_position)
         SELECT v.column1, v.column2, 'draft', 0, 0, v.column3, v.column4, v.column4
           FROM (VALUES ${placeholders(rows, 4, ['TEXT', 'TEXT', 'TEXT', 'BIGINT'])}) AS v`,
        rows.flat(),
      );
    }
    for (const rows of chunks(batch.linesCleared)) {
      await sql.execute(`DELETE FROM ${lines} WHERE (order_id, sku) IN (VALUES ${placeholders(rows, 2, ['TEXT', 'TEXT'])})`, rows.flat());
    }
    for (const rows of chunks(batch.linesAdded)) {
      // One row per (order, sku) per statement: PostgreSQL refuses to update a row twice in one upsert.
      await sql.execute(
        `INSERT INTO ${lines} (order_id, sku, quantity, unit_price) VALUES ${placeholders(rows, 4, ['TEXT', 'TEXT', 'BIGINT', 'BIGINT'])}
         ON CONFLICT (order_id, sku) DO UPDATE SET quantity = ${lines}.quantity + excluded.quantity`,
        rows.flat(),
      );
    }
    for (const rows of chunks(batch.totalsChanged)) {
      await sql.execute(
        `UPDATE ${list} SET
           item_count = (SELECT COALESCE(SUM(quantity), 0) FROM ${lines} WHERE ${lines}.order_id = v.column1),
           total = (SELECT COALESCE(SUM(quantity * unit_price), 0) FROM ${lines} WHERE ${lines}.order_id = v.column1),
           last_position = v.column2
         FROM (VALUES ${placeholders(rows, 2, ['TEXT', 'BIGINT'])}) AS v
         WHERE ${list}.order_id = v.column1`,
        rows.flat(),
      );
    }
    for (const rows of chunks(batch.statusChanged)) {
      await sql.execute(
        `UPDATE ${list} SET
           status = v.column2, total = COALESCE(v.column3, ${list}.total),
           placed_at = COALESCE(v.column4, ${list}.placed_at), cancelled_at = COALESCE(v.column5, ${list}.cancelled_at),
           last_position = v.column6
         FROM (VALUES ${placeholders(rows, 6, ['TEXT', 'TEXT', 'BIGINT', 'TEXT', 'TEXT', 'BIGINT'])}) AS v
         WHERE ${list}.order_id = v.column1`,
        rows.flat(),
      );
    }
  },
};

/** One order's changes within a batch. */
interface PendingOrder {
  /** Position of the order's last event in the batch: every row the batch touches ends there. */
  lastPosition: bigint;
  linesChanged: boolean;
  status?: { status: 'placed' | 'cancelled'; total?: number; placedAt?: string; cancelledAt?: string };
}

/** One (order, sku) line's net change within a batch: cleared (removed) first, then added to. */
interface PendingLine {
  orderId: string;
  sku: string;
  cleared: boolean;
  added: number;
  unitPrice?: number;
}

/** A batch of order events reduced to the rows each statement needs. */
interface OrderBatch {
  created: unknown[][];
  linesCleared: unknown[][];
  linesAdded: unknown[][];
  totalsChanged: unknown[][];
  statusChanged: unknown[][];
}

/**
 * Folds a batch per order and per line, so that each table is written once per key: a remove
 * followed by adds becomes "clear, then add the rest" (the price of the first add after the
 * remove, as when applied one by one), adds alone accumulate onto the existing line.
 */
function foldOrderBatch(events: readonly RecordedEvent[]): OrderBatch {
  const created: unknown[][] = [];
  const orders = new Map<string, PendingOrder>();
  const lines = new Map<string, PendingLine>();
  for (const raw of events) {
    // The union discriminates on a DomainEvent, not on RecordedEvent's separate type and data fields.
    const event = { type: raw.type, data: raw.data } as OrderEvent;
    const orderId = orderIdOf(raw);
    const order = orders.get(orderId) ?? { lastPosition: raw.position, linesChanged: false };
    orders.set(orderId, order);
    order.lastPosition = raw.position;
    const at = raw.recordedAt.toISOString();
    switch (event.type) {
      case 'sales.order.created':
        created.push([orderId, event.data.customerId, at, raw.position]);
        break;
      case 'sales.order.item_added': {
        const added: OrderLine = event.data;
        const key = JSON.stringify([orderId, added.sku]);
        const line = lines.get(key) ?? { orderId, sku: added.sku, cleared: false, added: 0 };
        lines.set(key, line);
        line.added += added.quantity;
        line.unitPrice ??= added.unitPrice;
        order.linesChanged = true;
        break;
      }
      case 'sales.order.item_removed':
        lines.set(JSON.stringify([orderId, event.data.sku]), { orderId, sku: event.data.sku, cleared: true, added: 0 });
        order.linesChanged = true;
        break;
      case 'sales.order.placed':
        order.status = { ...order.status, status: 'placed', total: event.data.total, placedAt: at };
        break;
      case 'sales.order.cancelled':
        order.status = { ...order.status, status: 'cancelled', cancelledAt: at };
        break;
    }
  }
  const linesCleared: unknown[][] = [];
  const linesAdded: unknown[][] = [];
  for (const line of lines.values()) {
    if (line.cleared) linesCleared.push([line.orderId, line.sku]);
    if (line.added > 0) linesAdded.push([line.orderId, line.sku, line.added, line.unitPrice]);
  }
  const totalsChanged: unknown[][] = [];
  const statusChanged: unknown[][] = [];
  for (const [orderId, order] of orders) {
    if (order.linesChanged) totalsChanged.push([orderId, order.lastPosition]);
    const status = order.status;
    if (status) {
      statusChanged.push([
        orderId,
        status.status,
        status.total ?? null,
        status.placedAt ?? null,
        status.cancelledAt ?? null,
        order.lastPosition,
      ]);
    }
  }
  return { created, linesCleared, linesAdded, totalsChanged, statusChanged };
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
