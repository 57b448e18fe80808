import type { Projection, RecordedEvent, SqlQueries, SqlTransaction, StoreTransaction } from '@tidemark/core';
import type { OrderPlaced } from '../orders/orderEvents.js';

type SqlTx = StoreTransaction & SqlTransaction;

export interface DailyOrderStats {
  /** UTC day, YYYY-MM-DD. */
  day: string;
  orderCount: number;
  /**
   * Integer cents as a decimal string: a day's orders, each within the amount limit, can sum
   * past 2^53, where a JSON number stops being exact. Kept as BIGINT, summed in bigint.
   */
  totalValue: string;
  cancelledCount: number;
}

/**
 * Daily order analytics (seed 003's OrderAnalyticsReadModel): placed orders counted and
 * summed per UTC day with an upsert; cancellations counted per day. The same
 * `ON CONFLICT … DO UPDATE` works on SQLite and PostgreSQL.
 */
export const dailyOrderStatsProjection: Projection<SqlTx> = {
  name: 'shop.daily_order_stats',
  // Types alone select these events; a category filter too would only slow PostgreSQL's readAll plan.
  types: ['sales.order.placed', 'sales.order.cancelled'],
  tables: ['shop_daily_order_stats'],
  async setup(tx, tables) {
    await tx.sql.execute(`CREATE TABLE IF NOT EXISTS ${tables.name('shop_daily_order_stats')} (
      day TEXT PRIMARY KEY,
      order_count BIGINT NOT NULL,
      total_value BIGINT NOT NULL,
      cancelled_count BIGINT NOT NULL
    )`);
  },
  async apply(events, tx, tables) {
    const stats = tables.name('shop_daily_order_stats');
    // Sum the batch per day first, then one upsert per day (one round trip, not one per order).
    const days = new Map<string, { orders: number; value: bigint; cancelled: number }>();
    for (const event of events) {
      const day = event.recordedAt.toISOString().slice(0, 10);
      const totals = days.get(day) ?? { orders: 0, value: 0n, cancelled: 0 };
      days.set(day, totals);
      if (event.type === 'sales.order.placed') {
        totals.orders++;
        totals.value += BigInt((event as unknown as RecordedEvent<OrderPlaced>).data.total);
      } else if (event.type === 'sales.order.cancelled') {
        totals.cancelled++;
      }
    }
    for (const [day, totals] of days) {
      await tx.sql.execute(
        // The value goes as a decimal string, cast in SQL: exact on both drivers at any size.
        `INSERT INTO ${stats} (day, order_count, total_value, cancelled_count) VALUES ($1, $2, CAST($3 AS BIGINT), $4)
         ON CONFLICT (day) DO UPDATE SET
           order_count = ${stats}.order_count + excluded.order_count,
           total_value = ${stats}.total_value + excluded.total_value,
           cancelled_count = ${stats}.cancelled_count + excluded.cancelled_count`,
        [day, totals.orders, totals.value.toString(), totals.cancelled],
      );
    }
  },
};

/** Days in [from, to] (inclusive, YYYY-MM-DD), oldest first. */
export async function dailyOrderStats(sql: SqlQueries, from: string, to: string): Promise<DailyOrderStats[]> {
  const rows = await sql.query(
    // As text: better-sqlite3 would round a BIGINT past 2^53 into a number.
    `SELECT day, order_count, CAST(total_value AS TEXT) AS total_value, cancelled_count FROM shop_daily_order_stats
     WHERE day >= $1 AND day <= $2 ORDER BY day`,
    [from, to],
  );
  return rows.map((row) => ({
    day: String(row.day),
    orderCount: Number(row.order_count),
    totalValue: String(row.total_value),
    cancelledCount: Number(row.cancelled_count),
  }));
}
