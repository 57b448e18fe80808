import { StoreNotFoundError } from '@tidemark/core';

/**
 * Refuses a SQLite file that holds no tidemark store (another application's database, an empty
 * file) with StoreNotFoundError, reading it only: opening the store would turn it into one —
 * WAL mode and fifteen tables — for a command that was only meant to look.
 */
export async function assertSqliteStore(file: string): Promise<void> {
  const { openSqliteDatabase, sqliteSchemaVersionOf } = await import('@tidemark/sqlite');
  const db = openSqliteDatabase(file, { readOnly: true, synchronous: 'FULL', busyTimeoutMs: 5000 });
  try {
    if (sqliteSchemaVersionOf(db) === 0) throw new StoreNotFoundError(`The SQLite file '${file}'`);
  } finally {
    db.close();
  }
}
