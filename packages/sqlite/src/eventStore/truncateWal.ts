import type { Database } from 'better-sqlite3';

/**
 * Copies the WAL into the database and truncates it to zero bytes; false when a reader (or
 * another process's writer) is in the way. It does not wait for them: a busy timeout here
 * would block the event loop while a backup holds its read transaction. The connection's own
 * busy timeout is restored afterwards.
 */
export function truncateWal(db: Database, busyTimeoutMs: number): boolean {
  db.pragma('busy_timeout = 0');
  try {
    const [result] = db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>;
    return result?.busy === 0;
  } catch {
    return false;
  } finally {
    db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(busyTimeoutMs))}`);
  }
}
