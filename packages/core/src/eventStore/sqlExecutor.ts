/**
 * Dialect-neutral SQL inside a transaction, so that one read model or outbox implementation
 * can serve both SQL adapters. Placeholders are PostgreSQL-style ($1, $2…); the SQLite adapter
 * rewrites them. Each adapter implements it (and its own tidemark tables) in its package.
 */
export interface SqlExecutor {
  query<Row extends Record<string, unknown> = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<Row[]>;
  /** Runs a statement and returns how many rows it changed. */
  execute(sql: string, params?: readonly unknown[]): Promise<number>;
}

/** A transaction of a SQL-backed store: the event store operations plus SQL in the same unit of work. */
export interface SqlTransaction {
  readonly sql: SqlExecutor;
  /**
   * Serialises read-model set-ups across processes until the transaction ends (concurrent
   * `CREATE TABLE IF NOT EXISTS` races on PostgreSQL's catalog); a no-op where transactions
   * are serialised anyway (SQLite).
   */
  lockForSetup(): Promise<void>;
}
