import type { SqlExecutor } from '@tidemark/core';
import type pg from 'pg';

/**
 * The dialect-neutral SqlExecutor on a pool client inside a transaction. Statements are sent
 * unnamed: a read model's SQL varies, and unnamed statements also pass PgBouncer in
 * transaction mode.
 */
export function createPostgresSqlExecutor(client: pg.PoolClient, assertUsable: () => void = () => {}): SqlExecutor {
  return {
    async query<Row extends Record<string, unknown>>(text: string, params?: readonly unknown[]) {
      assertUsable();
      const result = await client.query<Row>(text, params as unknown[] | undefined);
      return result.rows;
    },
    async execute(text, params) {
      assertUsable();
      const result = await client.query(text, params as unknown[] | undefined);
      return result.rowCount ?? 0;
    },
  };
}
