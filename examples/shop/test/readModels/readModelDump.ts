import type { EventStore, SqlTransaction, StoreTransaction } from '@tidemark/core';

/** Everything the read models hold, in a canonical order, for comparing two builds. */
export async function readModelDump(store: EventStore<StoreTransaction & SqlTransaction>): Promise<unknown> {
  return store.transaction(async (tx) => ({
    orders: (await tx.sql.query('SELECT * FROM shop_order_list ORDER BY order_id')).map(normalise),
    lines: (await tx.sql.query('SELECT * FROM shop_order_lines ORDER BY order_id, sku')).map(normalise),
    stats: (await tx.sql.query('SELECT * FROM shop_daily_order_stats ORDER BY day')).map(normalise),
    balances: (await tx.sql.query('SELECT * FROM shop_account_balances ORDER BY account_id')).map(normalise),
  }));
}

const bigintColumns = new Set([
  'item_count',
  'total',
  'created_position',
  'last_position',
  'quantity',
  'unit_price',
  'order_count',
  'total_value',
  'cancelled_count',
  'balance',
  'version',
]);

// pg returns BIGINT as strings, better-sqlite3 as numbers: compare values, not driver types.
function normalise(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, bigintColumns.has(k) && v !== null ? Number(v) : v]));
}
