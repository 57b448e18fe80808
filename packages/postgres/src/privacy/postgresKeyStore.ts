import { type KeyStore, newSubjectKey, type SubjectKey, ValidationError } from '@tidemark/core';
import pg from 'pg';
import { toTypedError } from '../eventStore/connectionErrors.js';
import { postgresConnectionDefaults } from '../eventStore/postgresEventStore.js';
import { openTransactionOn } from '../eventStore/transactionContext.js';
import { assertValidSchemaName, quoteIdentifier } from '../schema/schemaName.js';

export interface PostgresKeyStoreOptions {
  /** The store's schema: the keys live in its `tidemark_subject_keys` table (the store's migrations make it). */
  schema: string;
  /** A pool to use (the store's `pool`, say), or… */
  pool?: pg.Pool;
  /** …a URL to open a small pool of its own (closed by close()). */
  url?: string;
}

export interface PostgresKeyStore extends KeyStore {
  close(): Promise<void>;
}

interface KeyRow {
  key_id: string | null;
  material: Buffer | null;
}

/**
 * Keys of data subjects in the store's schema. Outside a transaction each call is one autocommit
 * statement on the pool. Called from the work of a transaction on that same pool (the read stage
 * decrypting what `tx.readStream` returns, an append in `tx` finding its subject's key), a key is
 * READ on the transaction's own connection (openTransactionOn): the transaction never waits for
 * a second connection of the pool it holds one of — with as many concurrent transactions as the
 * pool has connections, none would come, and all would fail after connectionTimeoutMs.
 *
 * Keys are still CREATED and deleted in autocommit on the pool, outside any transaction, so a key
 * made by an append inside a transaction that then rolls back simply stays unused (and the key
 * cache never holds a key that rolled back). A subject's first key made inside a transaction
 * therefore takes a second connection, once: create it before the transaction
 * (CryptoShredding.ensureKeys) where the pool may be exhausted. Creation is an insert-if-absent
 * that never replaces a live key: racing first uses (any process) all read the one key that
 * committed first.
 *
 * Forgetting nulls the key in place. PostgreSQL keeps the old row version (with the key) as a
 * dead tuple until VACUUM reclaims it, and in its WAL, replicas and backups: see docs/privacy.md.
 */
export function createPostgresKeyStore(options: PostgresKeyStoreOptions): PostgresKeyStore {
  assertValidSchemaName(options.schema);
  if (!options.pool && !options.url) throw new ValidationError('createPostgresKeyStore needs a pool or a url', { field: 'pool' });
  const ownPool = options.pool ? undefined : new pg.Pool({ connectionString: options.url, max: 4, ...postgresConnectionDefaults });
  ownPool?.on('error', () => {}); // an idle client losing its server: the next query reports it
  const pool = (options.pool ?? ownPool) as pg.Pool;
  const table = `${quoteIdentifier(options.schema)}.tidemark_subject_keys`;

  /** On the pool; `inTransaction`: on the open transaction's connection when called from its work (reads only). */
  const query = async <Row extends pg.QueryResultRow>(
    text: string,
    params: unknown[],
    inTransaction = false,
  ): Promise<pg.QueryResult<Row>> => {
    const runner = (inTransaction && openTransactionOn(pool)?.client) || pool;
    try {
      return await runner.query<Row>(text, params);
    } catch (error) {
      throw toTypedError(error);
    }
  };
  const keyOf = (subjectId: string, row: KeyRow | undefined): SubjectKey | undefined =>
    row?.key_id && row.material ? { subjectId, keyId: row.key_id, material: new Uint8Array(row.material) } : undefined;
  const findSql = `SELECT key_id, material FROM ${table} WHERE subject_id = $1`;
  const find = async (subjectId: string, inTransaction = false) => (await query<KeyRow>(findSql, [subjectId], inTransaction)).rows[0];

  return {
    async getOrCreateKey(subjectId) {
      const existing = keyOf(subjectId, await find(subjectId, true));
      if (existing) return existing;
      const fresh = newSubjectKey(subjectId);
      // A racing insert of the same subject waits for the first to commit, then finds its live
      // key and updates nothing (the WHERE): no row returned, and the read below sees that key.
      const inserted = await query<KeyRow>(
        `INSERT INTO ${table} AS k (subject_id, key_id, material, created_at) VALUES ($1, $2, $3, now())
         ON CONFLICT (subject_id) DO UPDATE SET key_id = excluded.key_id, material = excluded.material,
           created_at = excluded.created_at, forgotten_at = NULL
         WHERE k.material IS NULL
         RETURNING key_id, material`,
        [subjectId, fresh.keyId, Buffer.from(fresh.material)],
      );
      return (keyOf(subjectId, inserted.rows[0]) ?? keyOf(subjectId, await find(subjectId))) as SubjectKey;
    },
    async findKey(subjectId) {
      return keyOf(subjectId, await find(subjectId, true));
    },
    async deleteKey(subjectId) {
      const deleted = await query(
        `UPDATE ${table} SET key_id = NULL, material = NULL, forgotten_at = now() WHERE subject_id = $1 AND material IS NOT NULL`,
        [subjectId],
      );
      if ((deleted.rowCount ?? 0) > 0) return 'deleted';
      return (await find(subjectId)) ? 'already_forgotten' : 'unknown';
    },
    async close() {
      await ownPool?.end();
    },
  };
}
