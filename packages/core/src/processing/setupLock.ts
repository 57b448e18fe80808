import type { StoreTransaction } from '../eventStore/eventStore.js';
import type { SqlExecutor } from '../eventStore/sqlExecutor.js';

/**
 * Concurrent `CREATE TABLE IF NOT EXISTS` races on PostgreSQL's catalog (a unique violation
 * instead of "already exists"). Taking this transaction-scoped advisory lock first serialises
 * set-ups across processes; it is released at commit. A no-op on other stores, which either
 * serialise transactions already (SQLite, in-memory) or have no SQL.
 */
export async function lockForSetup(tx: StoreTransaction): Promise<void> {
  const sql = (tx as Partial<{ sql: SqlExecutor }>).sql;
  if (sql?.dialect === 'postgres') await sql.query(`SELECT pg_advisory_xact_lock(hashtext('tidemark:setup'))`);
}
