import { type KeyStore, newSubjectKey, type SubjectKey, ValidationError } from '@tidemark/core';
import { isMemoryDatabase, openSqliteDatabase } from '../eventStore/openSqliteDatabase.js';
import { acquireSqliteWriterLock } from '../eventStore/sqliteWriterLock.js';
import { storeBusy } from '../eventStore/storeBusy.js';
import { truncateWal } from '../eventStore/truncateWal.js';
import { migrateSqliteSchema } from '../schema/migrateSqliteSchema.js';

export interface SqliteKeyStoreOptions {
  /** The store's database file: the keys live in its `tidemark_subject_keys` table. */
  file: string;
  /** How long a key write waits for another process's write lock. Default 5 s. */
  busyTimeoutMs?: number;
}

export interface SqliteKeyStore extends KeyStore {
  /**
   * Copies the WAL into the database file and truncates it to zero bytes, so that the frames
   * holding a deleted key (or erased read-model rows) leave the disk; false when a reader kept
   * it from finishing (the store's own idle checkpoint tries again when writes go quiet).
   * deleteKey runs it; call it again once read models have erased a forgotten subject.
   */
  checkpointWal(): Promise<boolean>;
  close(): void;
}

interface KeyRow {
  key_id: string | null;
  material: Buffer | null;
}

/**
 * Keys of data subjects in the store's SQLite file, on a connection of their own (the key store
 * is made before the store, whose stages use it). Writes take the file's in-process writer lock,
 * as the store's transactions do, so they never block the event loop on this process's own
 * transaction; across processes SQLite's lock and an insert-if-absent make creation race-safe.
 *
 * A key is created by the append that first needs it: inside `store.transaction(...)` that
 * would wait for the very transaction asking, so there it is refused (NestedStoreCallError) —
 * a subject's first event goes through a plain append, or its key is created before.
 */
export function createSqliteKeyStore(options: SqliteKeyStoreOptions): SqliteKeyStore {
  const { file } = options;
  if (typeof file !== 'string') throw new ValidationError('createSqliteKeyStore needs the store file', { field: 'file' });
  if (isMemoryDatabase(file))
    throw new ValidationError("a key store needs a database file: ':memory:' is private to one connection", { field: 'file' });
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  const db = openSqliteDatabase(file, { synchronous: 'FULL', busyTimeoutMs });
  let lock: ReturnType<typeof acquireSqliteWriterLock>;
  try {
    migrateSqliteSchema(db, file);
    lock = acquireSqliteWriterLock(file);
  } catch (error) {
    db.close();
    throw storeBusy(error, file, busyTimeoutMs);
  }
  const find = db.prepare<[string], KeyRow>('SELECT key_id, material FROM tidemark_subject_keys WHERE subject_id = ?');
  // Insert, or give a forgotten subject a new key; never replace a live key (a racing process's).
  const insert = db.prepare<[string, string, Buffer, number]>(
    `INSERT INTO tidemark_subject_keys (subject_id, key_id, material, created_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (subject_id) DO UPDATE SET key_id = excluded.key_id, material = excluded.material,
       created_at = excluded.created_at, forgotten_at = NULL
     WHERE tidemark_subject_keys.material IS NULL`,
  );
  const forget = db.prepare<[number, string]>(
    'UPDATE tidemark_subject_keys SET key_id = NULL, material = NULL, forgotten_at = ? WHERE subject_id = ? AND material IS NOT NULL',
  );

  const keyOf = (subjectId: string, row: KeyRow | undefined): SubjectKey | undefined =>
    row?.key_id && row.material ? { subjectId, keyId: row.key_id, material: new Uint8Array(row.material) } : undefined;

  /** Under the file's writer lock: never interleaved with a transaction of this process's stores. */
  function write<T>(operation: string, work: () => T): Promise<T> {
    lock.scope.assertOutside(operation);
    return lock.mutex.run(async () => {
      try {
        return work();
      } catch (error) {
        throw storeBusy(error, file, busyTimeoutMs);
      }
    });
  }

  async function checkpointWal(): Promise<boolean> {
    // A busy WAL is left to the store's idle checkpoint (truncateWal does not wait).
    return lock.mutex.run(async () => truncateWal(db, busyTimeoutMs));
  }

  return {
    async getOrCreateKey(subjectId) {
      const existing = keyOf(subjectId, find.get(subjectId));
      if (existing) return existing;
      const fresh = newSubjectKey(subjectId);
      return write('keyStore.getOrCreateKey', () => {
        insert.run(subjectId, fresh.keyId, Buffer.from(fresh.material), Date.now());
        // Ours, or the one a racing process stored first.
        return keyOf(subjectId, find.get(subjectId)) as SubjectKey;
      });
    },
    async findKey(subjectId) {
      return keyOf(subjectId, find.get(subjectId));
    },
    async deleteKey(subjectId) {
      const status = await write('keyStore.deleteKey', () => {
        if (forget.run(Date.now(), subjectId).changes > 0) return 'deleted' as const;
        return find.get(subjectId) ? ('already_forgotten' as const) : ('unknown' as const);
      });
      if (status === 'deleted') await checkpointWal();
      return status;
    },
    checkpointWal,
    close() {
      lock.release();
      db.close();
    },
  };
}
