import type pg from 'pg';
import { toTypedError, watchClient } from '../eventStore/connectionErrors.js';
import { migrations } from './migrations.js';
import { assertValidSchemaName, quoteIdentifier } from './schemaName.js';

/**
 * Brings `schema` up to the latest version. Idempotent, and safe when several processes start
 * at once: everything happens in one transaction holding an advisory lock derived from the
 * schema name, so the second process waits, then finds the versions already applied. (Even
 * CREATE SCHEMA IF NOT EXISTS races without it: two creators can both pass the check.)
 * Returns the versions it applied.
 */
export async function migrate(pool: pg.Pool, schema: string): Promise<number[]> {
  assertValidSchemaName(schema);
  const s = quoteIdentifier(schema);
  const client = await pool.connect();
  // A session lost mid-migration must fail the migration (ConnectionLostError), not the process.
  const watched = watchClient(client);
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    try {
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`tidemark.migrate:${schema}`]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${s}.tidemark_schema_version (
           version integer PRIMARY KEY,
           name text NOT NULL,
           applied_at timestamptz NOT NULL DEFAULT now()
         )`,
      );
      const { rows } = await client.query<{ version: number }>(`SELECT version FROM ${s}.tidemark_schema_version`);
      const applied = new Set(rows.map((row) => row.version));
      const done: number[] = [];
      for (const migration of migrations(schema)) {
        if (applied.has(migration.version)) continue;
        await client.query(migration.sql);
        await client.query(`INSERT INTO ${s}.tidemark_schema_version (version, name) VALUES ($1, $2)`, [migration.version, migration.name]);
        done.push(migration.version);
      }
      await client.query('COMMIT');
      return done;
    } catch (error) {
      await client.query('ROLLBACK').catch((rollbackError: Error) => {
        broken = rollbackError;
      });
      throw toTypedError(error, watched.lost !== undefined);
    }
  } finally {
    watched.release(broken);
  }
}
