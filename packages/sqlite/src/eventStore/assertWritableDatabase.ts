import { accessSync, constants } from 'node:fs';
import { dirname } from 'node:path';
import type { Database } from 'better-sqlite3';
import { ReadOnlyDatabaseError } from './readOnlyDatabaseError.js';

/**
 * Refuses (ReadOnlyDatabaseError) a connection that can never write. SQLite opens a file the
 * process may not write (mode 0444, another owner, a read-only mount) read-only without a word
 * — better-sqlite3's `db.readonly` only repeats the option it was given — and the first write
 * fails long after the store was handed out, with an untyped SQLITE_READONLY. No pragma tells
 * (sqlite3_db_readonly has no SQL form), and BEGIN IMMEDIATE quietly starts a read
 * transaction on such a connection, so this begins a real write and rolls it back: nothing
 * reaches the file.
 *
 * It never waits for the write lock. SQLite refuses a write on a read-only connection before it
 * asks for any lock, so a lock held elsewhere (another process, this process's own open
 * transaction) already shows that the connection can write.
 */
export function assertWritableDatabase(db: Database, file: string): void {
  try {
    db.exec('BEGIN');
    // Read first: SQLite never waits for the write lock to upgrade a read transaction (two
    // readers waiting for each other would deadlock), it answers SQLITE_BUSY at once.
    const version = db.pragma('user_version', { simple: true }) as number;
    // The header's user_version, rewritten with its own value: the smallest write there is.
    db.pragma(`user_version = ${version}`);
  } catch (error) {
    const code = (error as { code?: unknown })?.code;
    if (typeof code !== 'string') throw error;
    if (code.startsWith('SQLITE_BUSY')) return;
    if (code.startsWith('SQLITE_READONLY') || (code.startsWith('SQLITE_CANTOPEN') && !canWriteBeside(file))) {
      throw new ReadOnlyDatabaseError(file, code, { cause: error });
    }
    throw error;
  } finally {
    if (db.inTransaction) db.exec('ROLLBACK');
  }
}

/**
 * On a read-only mount SQLite cannot create the -wal and -shm files of a WAL database and says
 * only SQLITE_CANTOPEN: the file system tells whether that is what happened.
 */
function canWriteBeside(file: string): boolean {
  try {
    accessSync(file, constants.W_OK);
    accessSync(dirname(file), constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
