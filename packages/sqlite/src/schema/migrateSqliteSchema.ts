import type { Database } from 'better-sqlite3';
import { SchemaTooNewError } from './schemaTooNewError.js';
import { type SqliteMigration, sqliteMigrations } from './sqliteSchema.js';

/**
 * Brings a file up to the code's schema in ONE immediate transaction, so two processes
 * opening a fresh file at once cannot both apply a migration (the second waits for the write
 * lock, then finds nothing to do). Returns the version the file is at afterwards.
 */
export function migrateSqliteSchema(db: Database, file: string, migrations: readonly SqliteMigration[] = sqliteMigrations): number {
  const latest = migrations[migrations.length - 1]?.version ?? 0;
  const migrate = db.transaction((): number => {
    db.exec(
      'CREATE TABLE IF NOT EXISTS tidemark_schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
    );
    const current = (db.prepare('SELECT coalesce(max(version), 0) FROM tidemark_schema_version').pluck().get() as number) ?? 0;
    // Refuse before touching anything: older code must not write into a layout it does not know.
    if (current > latest) throw new SchemaTooNewError(file, current, latest);
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
