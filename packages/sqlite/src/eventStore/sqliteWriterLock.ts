import { realpathSync } from 'node:fs';
import { createMutex, createTransactionScope, type Mutex, type TransactionScope } from '@tidemark/core';
import { isMemoryDatabase } from './openSqliteDatabase.js';

/**
 * The right to write one database file, shared by every store of this process that opened it.
 * SQLite's own write lock is per connection and better-sqlite3 waits for it synchronously: a
 * second store on the same file, meeting the first one's open transaction, would block the
 * event loop — so the first could never reach its COMMIT — for the whole busy timeout and then
 * fail with SQLITE_BUSY. Sharing one async mutex per file makes the second wait its turn
 * without blocking anything, as two transactions of one store do.
 */
export interface SqliteWriterLock {
  readonly mutex: Mutex;
  /** Marks the work of transactions on this file: a store call from inside one would wait for it. */
  readonly scope: TransactionScope;
  /** Gives this store's share back; the entry goes when the last store on the file closes. */
  release(): void;
}

interface Entry {
  mutex: Mutex;
  scope: TransactionScope;
  users: number;
}

const byFile = new Map<string, Entry>();

/**
 * Takes a share of the lock for `file`, which must exist (open the database first): the key is
 * its real path, so relative paths, `./` spellings and symbolic links all find one entry. A
 * ':memory:' database is private to its connection and gets a lock of its own.
 */
export function acquireSqliteWriterLock(file: string): SqliteWriterLock {
  if (isMemoryDatabase(file)) return { mutex: createMutex(), scope: createTransactionScope(), release: () => {} };
  const key = realpathSync(file);
  let entry = byFile.get(key);
  if (!entry) {
    entry = { mutex: createMutex(), scope: createTransactionScope(), users: 0 };
    byFile.set(key, entry);
  }
  entry.users++;
  const held = entry;
  let released = false;
  return {
    mutex: held.mutex,
    scope: held.scope,
    release() {
      if (released) return;
      released = true;
      held.users--;
      if (held.users === 0 && byFile.get(key) === held) byFile.delete(key);
    },
  };
}
