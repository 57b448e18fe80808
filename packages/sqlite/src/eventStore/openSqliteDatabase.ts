import Database from 'better-sqlite3';
import { assertWritableDatabase } from './assertWritableDatabase.js';

export interface OpenSqliteDatabaseOptions {
  synchronous: 'FULL' | 'NORMAL';
  busyTimeoutMs: number;
  /** A second connection that only reads: it never writes, so it must not be able to. */
  readOnly?: boolean;
}

/** What a reset WAL file is cut back to: 64 MiB. */
export const walSizeLimitBytes = 64 * 1024 * 1024;

/** Whether the file name is SQLite's private in-memory database, which a second connection cannot share. */
export function isMemoryDatabase(file: string): boolean {
  return file === ':memory:' || file === '';
}

/**
 * Opens a connection with the store's pragmas. WAL lets readers (other connections, other
 * processes) read while one writer commits; synchronous=FULL fsyncs the WAL on every commit,
 * so a resolved append survives power loss, not only a process crash. NORMAL trades that
 * last guarantee for speed and is opt-in.
 */
export function openSqliteDatabase(file: string, options: OpenSqliteDatabaseOptions): Database.Database {
  const db = new Database(file, { fileMustExist: options.readOnly === true });
  try {
    // Before anything else, so that even the journal-mode switch waits for a busy writer.
    db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeoutMs))}`);
    if (options.readOnly) {
      db.pragma('query_only = ON');
    } else {
      // Before anything writes: a file this process cannot write opens read-only without a word.
      assertWritableDatabase(db, file);
      if (!isMemoryDatabase(file)) {
        const mode = db.pragma('journal_mode = WAL', { simple: true });
        if (String(mode).toLowerCase() !== 'wal') throw new Error(`Could not switch '${file}' to WAL (journal_mode is ${String(mode)})`);
        // A WAL that a long reader let grow is cut back to this once a checkpoint resets it,
        // instead of keeping its peak size on disk (the store also truncates it when idle).
        db.pragma(`journal_size_limit = ${walSizeLimitBytes}`);
      }
      db.pragma(`synchronous = ${options.synchronous === 'NORMAL' ? 'NORMAL' : 'FULL'}`);
      db.pragma('foreign_keys = ON');
      // Deleted and overwritten content is zeroed, not left in free space: erasing personal data
      // from a read model (or a key) must leave no copy in the file. Appends free nothing, so
      // the event log's write path does not pay for it.
      db.pragma('secure_delete = ON');
    }
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}
