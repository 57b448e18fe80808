import type { SqlExecutor } from '@tidemark/core';
import type { Queryable } from './queryable.js';

/**
 * The dialect-neutral SqlExecutor on a transaction's statements (statementQueue.ts, which also
 * refuses them once the transaction has ended). Statements are sent unnamed: a read model's SQL
 * varies, and unnamed statements also pass PgBouncer in transaction mode.
 */
export function createPostgresSqlExecutor(runner: Queryable): SqlExecutor {
  return {
    async query<Row extends Record<string, unknown>>(text: string, params?: readonly unknown[]) {
      const result = await runner.query<Row>(text, params as unknown[] | undefined);
      return result.rows;
    },
    async execute(text, params) {
      const result = await runner.query(text, params as unknown[] | undefined);
      return result.rowCount ?? 0;
    },
  };
}
