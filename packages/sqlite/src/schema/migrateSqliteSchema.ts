import { SchemaBehindError, SchemaTooNewError } from '@tidemark/core';
import type { Database } from 'better-sqlite3';
import { type SqliteMigration, sqliteMigrations } from './sqliteSchema.js';

const tooNew = (file: string, found: number, latest: number) =>
  new SchemaTooNewError(`The SQLite file '${file}'`, found, latest, '@tidemark/sqlite', { file });

/** The file's schema version, read without writing anything: 0 for a file without a store. */
export function sqliteSchemaVersionOf(db: Database): number {
  const hasTable = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'tidemark_schema_version'").pluck().get();
  if (!hasTable) return 0;
  return (db.prepare('SELECT coalesce(max(version), 0) FROM tidemark_schema_version').pluck().get() as number) ?? 0;
}

/**
 * Brings a file up to the code's schema in ONE immediate transaction, so two processes
 * opening a fresh file at once cannot both apply a migration (the second waits for the write
 * lock, then finds nothing to do). Returns the version the file is at afterwards. With
 * `migrate: false` nothing is written: a file behind the code is refused (SchemaBehindError).
 *
 * A file already at the code's schema is only read: no write lock. Waiting for it is
 * synchronous, so a store opened while another store of this process on the same file held a
 * transaction open would block the event loop — and with it that transaction — for the whole
 * busy timeout, then fail.
 */
export function migrateSqliteSchema(
  db: Database,
  file: string,
  migrations: readonly SqliteMigration[] = sqliteMigrations,
  options: { migrate?: boolean } = {},
): number {
  const latest = migrations[migrations.length - 1]?.version ?? 0;
  if (options.migrate === false) {
    const found = sqliteSchemaVersionOf(db);
    if (found > latest) throw tooNew(file, found, latest);
    if (found < latest) throw new SchemaBehindError(`The SQLite file '${file}'`, found, latest);
    return found;
  }
  const found = sqliteSchemaVersionOf(db);
  if (found > latest) throw tooNew(file, found, latest);
  if (found === latest) return found;
  const migrate = db.transaction((): number => {
    db.exec(
      'CREATE TABLE IF NOT EXISTS tidemark_schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
    );
    const current = (db.prepare('SELECT coalesce(max(version), 0) FROM tidemark_schema_version').pluck().get() as number) ?? 0;
    // Refuse before touching anything: older code must not write into a layout it does not know.
    if (current > latest) throw tooNew(file, current, latest);
    const record = db.prepare('INSERT INTO tidemark_schema_version (version, name, applied_at) VALUES (?, ?, ?)');
    for (const migration of migrations) {
      if (migration.version <= current) continue;
      for (const statement of migration.statements) db.exec(statement);
      record.run(migration.version, migration.name, Date.now());
    }
    return latest;
  });
  return migrate.immediate();
}
