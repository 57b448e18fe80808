/**
 * Dialect-neutral SQL inside a transaction, so that one read model, outbox or checkpoint
 * implementation can serve both SQL adapters. Placeholders are PostgreSQL-style ($1, $2…);
 * the SQLite adapter rewrites them.
 */
export interface SqlExecutor {
  readonly dialect: 'sqlite' | 'postgres';
  query<Row extends Record<string, unknown> = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<Row[]>;
  /** Runs a statement and returns how many rows it changed. */
  execute(sql: string, params?: readonly unknown[]): Promise<number>;
}

/** A transaction of a SQL-backed store: the event store operations plus SQL in the same unit of work. */
export interface SqlTransaction {
  readonly sql: SqlExecutor;
}
