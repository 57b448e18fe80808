import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { CliIo } from '../projections/projectionsRebuild.js';
import { UsageError } from '../usageError.js';
import { parseStoreArguments, type StoreArguments, storeOptions } from './storeArguments.js';

export const migrateUsage = `Usage: tidemark migrate (--postgres <url> [--schema <name>] | --sqlite <file>) [--create-schema]

Brings the store's tables up to this version of tidemark (run it as the schema's owner; the
application can then open the store with migrate: false and a role without DDL rights).

  --postgres       the PostgreSQL URL; --schema is the store's schema (default tidemark)
  --sqlite         the SQLite event store file
  --create-schema  create the store when the schema (or file) holds none; without it a
                   mistyped name is refused instead of creating an empty store`;

interface MigrateArguments extends StoreArguments {
  createSchema: boolean;
}

export function parseMigrateArguments(argv: readonly string[]): MigrateArguments | 'help' {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    throw new UsageError(`migrate: ${error instanceof Error ? error.message : String(error)}`);
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  if (positionals.length > 0) throw new UsageError(`migrate: unexpected argument '${positionals[0]}'`);
  const createSchema = values['create-schema'] === true;
  return { ...parseStoreArguments('migrate', values, createSchema), createSchema };
}

/** `tidemark migrate …`; returns the exit code. */
export async function migrateStore(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseMigrateArguments(argv);
  if (args === 'help') {
    io.stdout.write(`${migrateUsage}\n`);
    return 0;
  }
  if (args.sqlite !== undefined) {
    const { migrateSqliteSchema, openSqliteDatabase, sqliteSchemaVersionOf } = await import('@tidemark/sqlite');
    if (!args.createSchema && !existsSync(args.sqlite)) throw new UsageError(`migrate: --sqlite ${args.sqlite}: no such file`);
    const db = openSqliteDatabase(args.sqlite, { synchronous: 'FULL', busyTimeoutMs: 5000 });
    try {
      const before = sqliteSchemaVersionOf(db);
      // An existing file that holds no store is most likely the wrong file.
      if (before === 0 && !args.createSchema) {
        throw new UsageError(`migrate: ${args.sqlite} holds no tidemark store (--create-schema to create one)`);
      }
      report(io, `SQLite file ${args.sqlite}`, before, migrateSqliteSchema(db, args.sqlite));
    } finally {
      db.close();
    }
    return 0;
  }
  const { migrate, schemaVersion } = await import('@tidemark/postgres');
  const { default: pg } = await import('pg');
  const schema = args.schema ?? 'tidemark';
  const pool = new pg.Pool({ connectionString: args.postgres, max: 1 });
  try {
    const before = await schemaVersion(pool, schema);
    await migrate(pool, schema, { createSchema: args.createSchema });
    report(io, `PostgreSQL schema ${schema}`, before, await schemaVersion(pool, schema));
  } finally {
    await pool.end();
  }
  return 0;
}

function report(io: CliIo, where: string, before: number, after: number): void {
  io.stdout.write(
    before === after ? `${where} is at version ${after}: nothing to do.\n` : `Migrated ${where} from version ${before} to ${after}.\n`,
  );
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { ...storeOptions, 'create-schema': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
}
