import { SchemaBehindError, SchemaTooNewError, StoreNotFoundError } from '@tidemark/core';
import type pg from 'pg';
import { beginReadCommitted } from '../eventStore/beginReadCommitted.js';
import { rethrowTypedFor, toTypedError, watchClient } from '../eventStore/connectionErrors.js';
import { advanceOutboxSequence } from './advanceOutboxSequence.js';
import { foreignSchemasSql } from './foreignSchemasSql.js';
import { migrations, storeFunctionsSql } from './migrations.js';
import { rebasePositions } from './rebasePositions.js';
import { assertValidSchemaName, quoteIdentifier } from './schemaName.js';
import { SchemaRenamedError } from './schemaRenamedError.js';

const tooNew = (schema: string, found: number, latest: number) =>
  new SchemaTooNewError(`The PostgreSQL schema '${schema}'`, found, latest, '@tidemark/postgres', { schema });

export interface MigrateOptions {
  /** Create the store when `schema` holds none (else StoreNotFoundError). Default false. */
  createSchema?: boolean;
  /**
   * False: never run DDL — a schema behind this code is refused with SchemaBehindError. For
   * roles with only USAGE, DML and EXECUTE rights; run `tidemark migrate` as the owner. Default true.
   */
  migrate?: boolean;
}

/**
 * The version of the store in `schema`: 0 when there is none (no schema, or no version table).
 * Failures are typed like every other statement's: a session killed while a store opens is a
 * ConnectionLostError, a server never reached a ServerUnreachableError naming the pool's host:port.
 */
export async function schemaVersion(pool: pg.Pool, schema: string): Promise<number> {
  return (await readSchemaState(pool, schema)).version;
}

interface SchemaState {
  version: number;
  /** Other schemas the store's functions name (foreignSchemasSql): empty unless it was renamed. */
  foreignSchemas: string[];
}

/** The version and the functions' check in one statement: opening costs no extra round trip for it. */
async function readSchemaState(pool: pg.Pool, schema: string): Promise<SchemaState> {
  assertValidSchemaName(schema);
  const s = quoteIdentifier(schema);
  const { rows } = await pool
    .query<{ found: boolean }>('SELECT to_regclass($1) IS NOT NULL AS found', [`${s}.tidemark_schema_version`])
    .catch(rethrowTypedFor(pool));
  if (!rows[0]?.found) return { version: 0, foreignSchemas: [] };
  const state = await pool
    .query<{ version: number; foreign_schemas: string[] | null }>(
      `SELECT coalesce(max(version), 0)::integer AS version, ${foreignSchemasSql('$1::text')} AS foreign_schemas
         FROM ${s}.tidemark_schema_version`,
      [schema],
    )
    .catch(rethrowTypedFor(pool));
  return { version: state.rows[0]?.version ?? 0, foreignSchemas: state.rows[0]?.foreign_schemas ?? [] };
}

/** What `migrateWithReport` did: all empty or false on a store that needed nothing. */
export interface MigrationReport {
  /** The versions it applied, in order. */
  applied: number[];
  /**
   * The other schemas the store's functions named (after ALTER SCHEMA … RENAME) before it
   * re-created them for `schema`; empty when they named only their own.
   */
  functionsRecreatedFrom: string[];
  /** Whether it rebased the positions of a store moved from another cluster (rebasePositions). */
  positionsRebased: boolean;
  /** Whether it moved the outbox's sequence past restored rows (advanceOutboxSequence). */
  outboxSequenceAdvanced: boolean;
}

/**
 * Brings `schema` up to the latest version and returns the versions it applied, re-creating the
 * store's functions when their bodies name another schema (a rename: SchemaRenamedError); then
 * repairs what a restore leaves behind (rebasePositions, advanceOutboxSequence), so that
 * `tidemark migrate`, run as the owner, is the one remedy for a role that may not do any of them.
 * Each is checked with one read and changes nothing on a store that needs nothing.
 * `migrateWithReport` tells the repairs too.
 */
export async function migrate(pool: pg.Pool, schema: string, options: MigrateOptions = {}): Promise<number[]> {
  return (await migrateWithReport(pool, schema, options)).applied;
}

/** `migrate`, returning what it applied and which repairs it made. */
export async function migrateWithReport(pool: pg.Pool, schema: string, options: MigrateOptions = {}): Promise<MigrationReport> {
  const { applied, functionsRecreatedFrom } = await applyMigrations(pool, schema, options);
  const positionsRebased = await rebasePositions(pool, schema);
  const outboxSequenceAdvanced = await advanceOutboxSequence(pool, schema);
  return { applied, functionsRecreatedFrom, positionsRebased, outboxSequenceAdvanced };
}

/**
 * Applies the steps the schema lacks. It reads the version first and runs no DDL when the store is current, so a role without
 * DDL rights can open an up-to-date store. Behind, it migrates in one transaction holding an
 * advisory lock derived from the schema name: safe when several processes start at once (the
 * second waits, then finds the versions applied; even CREATE SCHEMA IF NOT EXISTS races
 * without it). A schema a newer release migrated is refused (SchemaTooNewError), with or
 * without `migrate`: this code would write into a layout it does not know. A store whose
 * functions name another schema is repaired in the same transaction, or refused
 * (SchemaRenamedError) when `migrate` is false or the role may not replace them.
 *
 * The lock's key, like the stream locks' (append_to_stream, autocommitAppend.ts), is derived from
 * the schema's current name; names are unique in a database at any moment, so after a rename the
 * store and a new one under its old name take different keys. What a rename can break is
 * agreement between the code's key and a function body's key for the SAME table — which the
 * check above refuses and the repair restores.
 */
async function applyMigrations(
  pool: pg.Pool,
  schema: string,
  options: MigrateOptions,
): Promise<{ applied: number[]; functionsRecreatedFrom: string[] }> {
  assertValidSchemaName(schema);
  const steps = migrations(schema);
  const latest = steps[steps.length - 1]?.version ?? 0;
  const { version: found, foreignSchemas } = await readSchemaState(pool, schema);
  if (found > latest) throw tooNew(schema, found, latest);
  const renamed = foreignSchemas.length > 0;
  if (found === latest && !renamed) return { applied: [], functionsRecreatedFrom: [] };
  const where = `The PostgreSQL schema '${schema}'`;
  if (found === 0 && options.createSchema !== true) throw new StoreNotFoundError(where);
  if (options.migrate === false) {
    throw found < latest ? new SchemaBehindError(where, found, latest) : new SchemaRenamedError(schema, foreignSchemas);
  }

  const s = quoteIdentifier(schema);
  const client = await pool.connect().catch(rethrowTypedFor(pool));
  // A session lost mid-migration must fail the migration (ConnectionLostError), not the process.
  const watched = watchClient(client);
  let broken: Error | undefined;
  try {
    await client.query(beginReadCommitted);
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
    // A newer release may have migrated it while this one waited for the lock.
    const newest = Math.max(0, ...applied);
    if (newest > latest) throw tooNew(schema, newest, latest);
    const done: number[] = [];
    for (const migration of steps) {
      if (applied.has(migration.version)) continue;
      await client.query(migration.sql);
      await client.query(`INSERT INTO ${s}.tidemark_schema_version (version, name) VALUES ($1, $2)`, [
        migration.version,
        `${migration.capability}: ${migration.name}`,
      ]);
      done.push(migration.version);
    }
    // After the steps, which create only functions that name the current schema: every function
    // of the latest version then exists to be replaced. Under the same lock as migrations, so two
    // processes never replace one function at once ("tuple concurrently updated").
    if (renamed) await client.query(storeFunctionsSql(schema));
    await client.query('COMMIT');
    return { applied: done, functionsRecreatedFrom: foreignSchemas };
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: Error) => {
      broken = rollbackError;
    });
    // A role that may not replace the functions (only their owner may) must not open the store.
    const code = (error as { code?: string }).code;
    if (renamed && found === latest && code === '42501') throw new SchemaRenamedError(schema, foreignSchemas, error);
    throw toTypedError(error, watched.lost);
  } finally {
    watched.release(broken);
  }
}
