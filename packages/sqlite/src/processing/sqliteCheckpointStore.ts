import { type CheckpointStore, createSqlCheckpointStore, type SqlCheckpointStoreOptions } from '@tidemark/core';
import type { SqliteTransaction } from '../eventStore/sqliteEventStore.js';

/**
 * Checkpoints (and dead letters) in the SQLite file, committed with the read-model writes of
 * the same batch. The SQL is core's dialect-neutral implementation; this only fixes the type.
 */
export function createSqliteCheckpointStore(options: SqlCheckpointStoreOptions = {}): CheckpointStore<SqliteTransaction> {
  return createSqlCheckpointStore<SqliteTransaction>(options);
}
