import type { SqlExecutor } from '../eventStore/sqlExecutor.js';

/**
 * Inside the caller's transaction: replace each live table by its shadow (`live + suffix`)
 * and give the shadow's indexes their live names back, so the next rebuild can use the same
 * names again. Readers see the old tables until commit and the new ones after: never a mix.
 */
export async function swapTables(sql: SqlExecutor, logical: readonly string[], suffix: string): Promise<void> {
  for (const live of logical) {
    const shadow = `${live}${suffix}`;
    await sql.execute(`DROP TABLE IF EXISTS ${live}`);
    await sql.execute(`ALTER TABLE ${shadow} RENAME TO ${live}`);
    if (sql.dialect === 'postgres') {
      // Index (and primary-key constraint) names are per schema: rename them in place.
      const indexes = await sql.query<{ indexname: string }>(
        `SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1`,
        [live],
      );
      for (const { indexname } of indexes) {
        if (indexname.includes(suffix)) await sql.execute(`ALTER INDEX ${indexname} RENAME TO ${indexname.replace(suffix, '')}`);
      }
    } else {
      // SQLite cannot rename an index: recreate it under its live name from its stored DDL.
      const indexes = await sql.query<{ name: string; sql: string }>(
        `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = $1 AND sql IS NOT NULL`,
        [live],
      );
      for (const index of indexes) {
        if (!index.name.includes(suffix)) continue;
        await sql.execute(`DROP INDEX ${index.name}`);
        await sql.execute(index.sql.split(suffix).join(''));
      }
    }
  }
}

/** Drops shadow tables left by an interrupted rebuild. */
export async function dropTables(sql: SqlExecutor, physical: readonly string[]): Promise<void> {
  for (const table of physical) await sql.execute(`DROP TABLE IF EXISTS ${table}`);
}
