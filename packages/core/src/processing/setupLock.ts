import type { StoreTransaction } from '../eventStore/eventStore.js';
import type { SqlTransaction } from '../eventStore/sqlExecutor.js';

/**
 * Serialises read-model set-ups (`CREATE TABLE IF NOT EXISTS` races on PostgreSQL's catalog)
 * when the transaction's adapter offers a setup lock; the adapter decides what that takes. A
 * no-op for stores without SQL.
 */
export async function lockForSetup(tx: StoreTransaction): Promise<void> {
  const lock = (tx as Partial<SqlTransaction>).lockForSetup;
  if (lock) await lock.call(tx);
}
