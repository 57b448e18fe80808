import type { EventStore, SqlTransaction, StoreTransaction } from '@tidemark/core';

const tables = {
  orders: 'SELECT * FROM shop_order_list ORDER BY order_id',
  lines: 'SELECT * FROM shop_order_lines ORDER BY order_id, sku',
  stats: 'SELECT * FROM shop_daily_order_stats ORDER BY day',
  balances: 'SELECT * FROM shop_account_balances ORDER BY account_id',
};

/** Everything the read models hold (or the `parts` named), in a canonical order, for comparing two builds. */
export async function readModelDump(
  store: EventStore<StoreTransaction & SqlTransaction>,
  parts: readonly (keyof typeof tables)[] = Object.keys(tables) as (keyof typeof tables)[],
): Promise<unknown> {
  return store.transaction(async (tx) => {
    const dump: Record<string, unknown> = {};
    for (const part of parts) dump[part] = (await tx.sql.query(tables[part])).map(normalise);
    return dump;
  });
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
