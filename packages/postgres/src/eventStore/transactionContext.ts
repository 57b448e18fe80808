import { findOpenTransaction } from '@tidemark/core';
import type pg from 'pg';
import type { PostgresTransaction } from './postgresTransaction.js';

/** What a PostgreSQL store's transaction gives its scope (TransactionScope.run) as its context. */
export class PostgresTransactionContext {
  constructor(
    readonly pool: pg.Pool,
    readonly tx: PostgresTransaction,
  ) {}
}

/**
 * The open transaction whose work is running now (the caller's async context) on a connection of
 * `pool`, if any: the snapshot and key stores run their statements on it rather than asking the
 * pool for a second connection while the transaction holds one (with as many concurrent
 * transactions as the pool has connections, none would be free, and every transaction would
 * fail after connectionTimeoutMs). Outside any transaction, or in continuations a transaction
 * left behind once it ended: undefined, and the pool it is.
 */
export function openTransactionOn(pool: pg.Pool): PostgresTransaction | undefined {
  return findOpenTransaction(
    (context): context is PostgresTransactionContext => context instanceof PostgresTransactionContext && context.pool === pool,
  )?.tx;
}
