import { type CheckpointStore, createSqlCheckpointStore, type SqlCheckpointStoreOptions } from '@tidemark/core';
import type { PostgresTransaction } from '../eventStore/postgresTransaction.js';

/**
 * Checkpoints (and dead letters) in PostgreSQL, committed with the read-model writes of the
 * same batch. Table names are unqualified unless given as `schema.table`: they resolve through
 * the connection's search_path, like the read-model tables beside them.
 */
export function createPostgresCheckpointStore(options: SqlCheckpointStoreOptions = {}): CheckpointStore<PostgresTransaction> {
  return createSqlCheckpointStore<PostgresTransaction>(options);
}
