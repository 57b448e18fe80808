import { existsSync } from 'node:fs';
import { StoreNotFoundError } from '@tidemark/core';
import type { MigrationReport } from '@tidemark/postgres';
import type { Command } from 'commander';
import type { CliIo } from '../cliIo.js';
import { jsonText } from '../output/jsonText.js';
import { openFailure } from './openFailure.js';
import type { StoreArguments } from './storeArguments.js';
import { addStoreOptions, storeArgumentsOf } from './storeOptions.js';

export interface MigrateArguments extends StoreArguments {
  /** Create the store when the schema (or file) holds none. */
  createSchema: boolean;
  json: boolean;
}

/** `tidemark migrate`: brings the store's tables up to this version of tidemark. */
export function addMigrateCommand(program: Command, io: CliIo): void {
  addStoreOptions(
    program
      .command('migrate')
      .description("create or upgrade a store's tables (run it as the schema's owner)")
      .addHelpText(
        'after',
        '\nThe application can then open the store with migrate: false and a role without DDL rights.\n' +
          'Without --create-schema a schema (or file) holding no store is refused: a mistyped name does not create an empty store.',
      ),
  )
    .option('--create-schema', 'create the store when the schema (or file) holds none')
    .option('--json', 'print the versions as JSON')
    .action(async (options: Record<string, unknown>) => {
      const createSchema = options.createSchema === true;
      await migrateStore({ ...(await storeArgumentsOf('migrate', options, createSchema)), createSchema, json: options.json === true }, io);
    });
}

export async function migrateStore(args: MigrateArguments, io: CliIo): Promise<void> {
  try {
    await migrateAndReport(args, io);
  } catch (error) {
    throw openFailure(error, args, '--create-schema to create one');
  }
}

async function migrateAndReport(args: MigrateArguments, io: CliIo): Promise<void> {
  if (args.sqlite !== undefined) {
    const { migrateSqliteSchema, openSqliteDatabase, sqliteSchemaVersionOf } = await import('@tidemark/sqlite');
    if (!args.createSchema) {
      // (parseStoreArguments checked, but the file may have gone since.)
      if (!existsSync(args.sqlite)) throw new StoreNotFoundError(`The SQLite file '${args.sqlite}'`);
      // An existing file that holds no store is most likely the wrong file. Checked read-only:
      // opening it for writing would already switch it to WAL.
      const probe = openSqliteDatabase(args.sqlite, { readOnly: true, synchronous: 'FULL', busyTimeoutMs: 5000 });
      let found: number;
      try {
        found = sqliteSchemaVersionOf(probe);
      } finally {
        probe.close();
      }
      // As a PostgreSQL schema that holds no store: the store cannot be opened (exit code 1), no bad argument.
      if (found === 0) throw new StoreNotFoundError(`The SQLite file '${args.sqlite}'`);
    }
    const db = openSqliteDatabase(args.sqlite, { synchronous: 'FULL', busyTimeoutMs: 5000 });
    try {
      const before = sqliteSchemaVersionOf(db);
      report(io, args, `SQLite file ${args.sqlite}`, before, migrateSqliteSchema(db, args.sqlite));
    } finally {
      db.close();
    }
    return;
  }
  const { migrateWithReport, schemaRepairLines, schemaVersion } = await import('@tidemark/postgres');
  const { default: pg } = await import('pg');
  const schema = args.schema ?? 'tidemark';
  const pool = new pg.Pool({ connectionString: args.postgres, max: 1 });
  try {
    const before = await schemaVersion(pool, schema);
    const migrated = await migrateWithReport(pool, schema, { createSchema: args.createSchema });
    const { applied: _applied, ...repairs } = migrated;
    report(
      io,
      args,
      `PostgreSQL schema ${schema}`,
      before,
      await schemaVersion(pool, schema),
      repairs,
      schemaRepairLines(schema, migrated),
    );
  } finally {
    await pool.end();
  }
}

/** The repairs PostgreSQL `migrate` makes besides migrations (migrateWithReport). */
type Repairs = Omit<MigrationReport, 'applied'>;

function report(
  io: CliIo,
  args: MigrateArguments,
  where: string,
  before: number,
  after: number,
  repairs?: Repairs,
  lines: readonly string[] = [],
): void {
  if (args.json) {
    io.stdout.write(jsonText({ store: where, from: before, to: after, migrated: before !== after, ...repairs }));
    return;
  }
  io.stdout.write(
    before !== after
      ? `Migrated ${where} from version ${before} to ${after}.\n`
      : `${where} is at version ${after}: ${lines.length === 0 ? 'nothing to do' : 'no migration to apply'}.\n`,
  );
  for (const line of lines) io.stdout.write(`${line}\n`);
}
