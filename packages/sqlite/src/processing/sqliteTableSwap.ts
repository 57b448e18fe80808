import { RebuildRefusedError, type TableSwap } from '@tidemark/core';
import type { SqliteTransaction } from '../eventStore/sqliteEventStore.js';

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The SQLite swap of a rebuild: a rename, nothing rebuilt under the write lock. The shadow's
 * indexes were built (and kept up to date) during the replay, outside the swap; SQLite cannot
 * rename an index, so the swap renames them in the schema table itself (writable_schema, the
 * documented way to make schema changes ALTER cannot: the name is the only thing that
 * changes, the index b-tree stays where it is) and bumps schema_version so that every other
 * connection reloads the schema. Before, every index was dropped and built again while the
 * write lock was held: seconds on a few million rows, with every append waiting.
 *
 * Refuses up front views and triggers that name a live table: the swap would leave them
 * pointing at a dropped table (or drop them with it).
 */
export function createSqliteTableSwap(): TableSwap<SqliteTransaction> {
  function refuseDependents(tx: SqliteTransaction, live: readonly string[]): void {
    const objects = tx.db
      .prepare<[], { type: string; name: string; tbl_name: string; sql: string }>(
        `SELECT type, name, tbl_name, sql FROM sqlite_master WHERE type IN ('view', 'trigger') AND sql IS NOT NULL`,
      )
      .all();
    for (const table of live) {
      const mentions = new RegExp(`(^|[^A-Za-z0-9_$])["\`\\[]?${escapeRegExp(table)}["\`\\]]?($|[^A-Za-z0-9_$])`, 'i');
      const blocking = objects.filter(
        (o) => o.name !== table && (o.tbl_name.toLowerCase() === table.toLowerCase() || mentions.test(o.sql)),
      );
      if (blocking.length > 0) {
        const names = blocking.map((o) => `${o.type} ${o.name}`);
        throw new RebuildRefusedError(
          `Cannot rebuild table ${table}: ${names.join(', ')} depend${blocking.length === 1 ? 's' : ''} on it and would be lost by the swap; drop ${blocking.length === 1 ? 'it' : 'them'} first and recreate after the rebuild`,
          { table, dependents: blocking.map((o) => ({ name: o.name, kind: o.type })) },
        );
      }
    }
  }

  function renameIndexes(tx: SqliteTransaction, table: string, suffix: string): void {
    const indexes = tx.db
      .prepare<[string], { name: string; sql: string }>(
        `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL`,
      )
      .all(table)
      .filter((index) => index.name.includes(suffix));
    if (indexes.length === 0) return;
    const db = tx.db;
    // Only for these statements: defensive mode (better-sqlite3's default) forbids them.
    db.unsafeMode(true);
    try {
      db.pragma('writable_schema = ON');
      const rename = db.prepare(`UPDATE sqlite_master SET name = ?, sql = ? WHERE type = 'index' AND name = ?`);
      for (const index of indexes) {
        const liveName = index.name.replace(suffix, '');
        // The first occurrence is the index's own name (CREATE [UNIQUE] INDEX [IF NOT EXISTS] name ON …).
        rename.run(liveName, index.sql.replace(index.name, liveName), index.name);
      }
      const version = db.pragma('schema_version', { simple: true }) as number;
      db.pragma(`schema_version = ${version + 1}`);
    } finally {
      db.pragma('writable_schema = OFF');
      db.unsafeMode(false);
    }
  }

  return {
    async check(live, tx) {
      refuseDependents(tx, live);
    },
    async swap(live, suffix, tx) {
      refuseDependents(tx, live);
      for (const table of live) {
        tx.db.exec(`DROP TABLE IF EXISTS ${table}`);
        tx.db.exec(`ALTER TABLE ${table}${suffix} RENAME TO ${table}`);
        renameIndexes(tx, table, suffix);
      }
    },
    async drop(physical, tx) {
      for (const table of physical) tx.db.exec(`DROP TABLE IF EXISTS ${table}`);
    },
  };
}
