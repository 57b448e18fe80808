import { StoreNotFoundError } from '@tidemark/core';
import { openSqliteDatabase } from '../eventStore/openSqliteDatabase.js';
import { sqliteSchemaVersionOf } from './migrateSqliteSchema.js';

/**
 * Refuses a SQLite file that holds no tidemark store (another application's database, an empty
 * file) with StoreNotFoundError, reading it only: opening the store would turn it into one —
 * WAL mode and fifteen tables — for a tool that was only meant to look (the CLI, the standalone
 * dashboard).
 */
export function assertSqliteStoreFile(file: string): void {
  const db = openSqliteDatabase(file, { readOnly: true, synchronous: 'FULL', busyTimeoutMs: 5000 });
  try {
    if (sqliteSchemaVersionOf(db) === 0) throw new StoreNotFoundError(`The SQLite file '${file}'`);
  } finally {
    db.close();
  }
}
