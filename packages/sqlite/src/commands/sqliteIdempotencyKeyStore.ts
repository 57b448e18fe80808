import type { IdempotencyKeyStore } from '@tidemark/core';
import type { Database } from 'better-sqlite3';
import { preparedPerConnection } from '../eventStore/preparedPerConnection.js';
import type { SqliteTransaction } from '../eventStore/sqliteEventStore.js';

interface KeyRow {
  request_hash: string;
  result: string;
  created_at: number;
}

function prepare(db: Database) {
  return {
    find: db.prepare<[string, string], KeyRow>(
      'SELECT request_hash, result, created_at FROM tidemark_idempotency_keys WHERE scope = ? AND key = ?',
    ),
    save: db.prepare<[string, string, string, string, number]>(
      'INSERT INTO tidemark_idempotency_keys (scope, key, request_hash, result, created_at) VALUES (?, ?, ?, ?, ?)',
    ),
    expire: db.prepare<[number, number]>(
      `DELETE FROM tidemark_idempotency_keys WHERE (scope, key) IN (
         SELECT scope, key FROM tidemark_idempotency_keys WHERE created_at < ? LIMIT ?)`,
    ),
  };
}

/**
 * Idempotency keys in the SQLite file (migration 6), in the command's transaction. SQLite has
 * one writer at a time (the store's transactions are BEGIN IMMEDIATE), so a claim needs no lock.
 */
export function createSqliteIdempotencyKeyStore(): IdempotencyKeyStore<SqliteTransaction> {
  const statements = preparedPerConnection(prepare);
  return {
    async claim(tx, scope, key) {
      const row = statements(tx).find.get(scope, key);
      return row && { requestHash: row.request_hash, resultJson: row.result, createdAt: new Date(row.created_at) };
    },
    async save(tx, scope, key, requestHash, resultJson) {
      statements(tx).save.run(scope, key, requestHash, resultJson, tx.clock.now().getTime());
    },
    async expire(tx, before, limit) {
      return statements(tx).expire.run(before.getTime(), limit).changes;
    },
  };
}
