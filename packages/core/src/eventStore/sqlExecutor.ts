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

/**
 * Read-only SQL on committed data, outside any transaction: how a SQL-backed store serves read
 * models without taking a transaction (on SQLite, without queuing behind the one writer).
 * Each query sees what was committed when it started. Only for reads: SQLite refuses a writing
 * statement (its read connection is read-only); PostgreSQL runs one statement in a READ ONLY
 * transaction that it always rolls back, outside every unit of work, so the session of the
 * pooled connection comes back unchanged (transaction control and SET are refused). Write in
 * `store.transaction` instead.
 */
export interface SqlQueries {
  query<Row extends Record<string, unknown> = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<Row[]>;
}
