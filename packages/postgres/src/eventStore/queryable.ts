import type pg from 'pg';

/**
 * The promise forms of pg's query(), which is all the store's statements need of what runs them:
 * the pool, or a transaction's statement queue (statementQueue.ts).
 */
export interface Queryable {
  query<R extends unknown[] = unknown[]>(config: pg.QueryArrayConfig, values?: unknown[]): Promise<pg.QueryArrayResult<R>>;
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(config: string | pg.QueryConfig, values?: unknown[]): Promise<pg.QueryResult<R>>;
}
