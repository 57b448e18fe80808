/**
 * The SQLite adapter's `isTransient` (see EventStore.isTransient): a database busy or locked by
 * another connection (SQLITE_BUSY, SQLITE_LOCKED and their extended codes such as
 * SQLITE_BUSY_SNAPSHOT) is worth retrying; every other error is about the statement itself.
 */
export function isTransientSqliteError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^SQLITE_(BUSY|LOCKED)(_|$)/.test(code);
}
