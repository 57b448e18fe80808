import type { IdempotencyKeyStore } from '@tidemark/core';
import type { PostgresTransaction } from '../eventStore/postgresTransaction.js';
import { quoteIdentifier } from '../schema/schemaName.js';

/**
 * Idempotency keys in the store's schema (migration 9), in the command's transaction. A claim
 * takes a transaction-scoped advisory lock on (schema, scope, key) before looking, so a second
 * first use of the key waits for the first's commit and then finds its result, instead of
 * running the command again and failing on the primary key.
 */
export function createPostgresIdempotencyKeyStore(): IdempotencyKeyStore<PostgresTransaction> {
  const table = (tx: PostgresTransaction) => `${quoteIdentifier(tx.schema)}.tidemark_idempotency_keys`;
  return {
    async claim(tx, scope, key) {
      await tx.sql.query(`SELECT pg_advisory_xact_lock(hashtextextended('tidemark_idempotency:' || $1 || ':' || $2 || ':' || $3, 0))`, [
        tx.schema,
        scope,
        key,
      ]);
      const [row] = await tx.sql.query<{ request_hash: string; result: string; created_at: Date }>(
        `SELECT request_hash, result::text AS result, created_at FROM ${table(tx)} WHERE scope = $1 AND key = $2`,
        [scope, key],
      );
      return row && { requestHash: row.request_hash, resultJson: row.result, createdAt: row.created_at };
    },
    async save(tx, scope, key, requestHash, resultJson) {
      await tx.sql.execute(`INSERT INTO ${table(tx)} (scope, key, request_hash, result, created_at) VALUES ($1, $2, $3, $4::json, $5)`, [
        scope,
        key,
        requestHash,
        resultJson,
        tx.clock.now().toISOString(),
      ]);
    },
    async expire(tx, before, limit) {
      return tx.sql.execute(
        `DELETE FROM ${table(tx)} WHERE (scope, key) IN (SELECT scope, key FROM ${table(tx)} WHERE created_at < $1 LIMIT $2)`,
        [before.toISOString(), limit],
      );
    },
  };
}
