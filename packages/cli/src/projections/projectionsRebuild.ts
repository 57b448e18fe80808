import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import {
  type CheckpointStore,
  type EventStore,
  type Projection,
  type RebuildResult,
  rebuildProjection,
  type SqlTransaction,
  type StoreTransaction,
  type TableSwap,
  ValidationError,
} from '@tidemark/core';
import cliProgress from 'cli-progress';
import { UsageError } from '../usageError.js';

/** The transaction the CLI's projections run in: a SQL store's, whichever adapter. */
export type SqlTx = StoreTransaction & SqlTransaction;

export const projectionsRebuildUsage = `Usage: tidemark projections rebuild <projection> --module <file> (--sqlite <file> | --postgres <url> [--schema <name>]) [--batch-size <n>]

Rebuilds the projection from position 0 into shadow tables while the live ones keep serving,
then swaps them in and resets its checkpoint in one transaction.

  --module      a JS/TS module exporting the projection (by its name), or an array of projections
  --sqlite      the SQLite event store file
  --postgres    the PostgreSQL URL; --schema is the store's schema (default tidemark), also used
                as the search_path where the read-model tables live
  --batch-size  events per replay transaction (default 500)`;

/** Where a command writes: the process's streams, or buffers in tests. */
export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Draw a progress bar (a TTY); otherwise print a line per 10%. */
  interactive: boolean;
}

const isProjection = (value: unknown): value is Projection<SqlTx> =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as Projection).name === 'string' &&
  typeof (value as Projection).apply === 'function';

/** Finds the named projection among a module's exports (directly, or inside exported arrays). */
export async function loadProjection(modulePath: string, name: string): Promise<Projection<SqlTx>> {
  const url = pathToFileURL(isAbsolute(modulePath) ? modulePath : resolve(process.cwd(), modulePath)).href;
  const exports = (await import(url)) as Record<string, unknown>;
  const candidates = Object.values(exports).flatMap((value) => (Array.isArray(value) ? value : [value]));
  const found = candidates.filter(isProjection).find((projection) => projection.name === name);
  if (!found) {
    const names = [...new Set(candidates.filter(isProjection).map((p) => p.name))].join(', ') || 'none';
    throw new ValidationError(`Module ${modulePath} exports no projection named '${name}' (it exports: ${names})`, { field: 'projection' });
  }
  return found;
}

/** A store and the checkpoint store of the same adapter. */
export interface OpenedStore {
  store: EventStore<SqlTx>;
  checkpoints: CheckpointStore<SqlTx>;
  swap: TableSwap<SqlTx>;
  close(): Promise<void>;
}

/** Opens the store the options name; a named PostgreSQL schema must already hold one. */
export async function openStore(values: { sqlite?: string; postgres?: string; schema?: string }): Promise<OpenedStore> {
  if (values.sqlite && !values.postgres) {
    const { createSqliteCheckpointStore, createSqliteEventStore, createSqliteTableSwap } = await import('@tidemark/sqlite');
    const store = createSqliteEventStore({ file: values.sqlite });
    return { store, checkpoints: createSqliteCheckpointStore(), swap: createSqliteTableSwap(), close: () => store.close() };
  }
  if (values.postgres && !values.sqlite) {
    const { createPostgresCheckpointStore, createPostgresEventStore, createPostgresTableSwap } = await import('@tidemark/postgres');
    const { default: pg } = await import('pg');
    const schema = values.schema ?? 'tidemark';
    const pool = new pg.Pool({ connectionString: values.postgres, max: 3, options: `-c search_path=${schema}` });
    let store: Awaited<ReturnType<typeof createPostgresEventStore>>;
    try {
      store = await createPostgresEventStore({ pool, schema });
    } catch (error) {
      await pool.end();
      throw error;
    }
    return {
      store,
      checkpoints: createPostgresCheckpointStore(),
      swap: createPostgresTableSwap(),
      async close() {
        await store.close();
        await pool.end();
      },
    };
  }
  // parseRebuildArguments has already refused anything else.
  throw new ValidationError('Give exactly one of --sqlite <file> or --postgres <url>', { field: 'store' });
}

export interface RebuildArguments {
  projection: string;
  module: string;
  sqlite?: string;
  postgres?: string;
  schema?: string;
  batchSize: number;
}

/** Checks the arguments before anything is opened; throws UsageError (one line) on the first wrong one. */
export function parseRebuildArguments(argv: readonly string[]): RebuildArguments | 'help' {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    throw new UsageError(`projections rebuild: ${error instanceof Error ? error.message : String(error)}`);
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  const [projection, ...extra] = positionals;
  if (!projection) throw new UsageError('projections rebuild: missing the <projection> name');
  if (extra.length > 0) throw new UsageError(`projections rebuild: unexpected argument '${extra[0]}'`);
  if (!values.module) throw new UsageError('projections rebuild: missing --module <file>');
  if (Boolean(values.sqlite) === Boolean(values.postgres)) {
    throw new UsageError('projections rebuild: give exactly one of --sqlite <file> or --postgres <url>');
  }
  // Opening a SQLite store creates the file: a mistyped path would "rebuild" an empty new store.
  if (values.sqlite !== undefined && !existsSync(values.sqlite)) {
    throw new UsageError(`projections rebuild: --sqlite ${values.sqlite}: no such file`);
  }
  if (values.schema !== undefined && !values.postgres) throw new UsageError('projections rebuild: --schema goes with --postgres');
  if (values.schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(values.schema)) {
    throw new UsageError(`projections rebuild: --schema '${values.schema}' is not a schema name (lower-case letters, digits, _)`);
  }
  if (values.postgres !== undefined && !/^postgres(ql)?:\/\//.test(values.postgres)) {
    throw new UsageError('projections rebuild: --postgres must be a postgres:// URL');
  }
  const batchSize = values['batch-size'] === undefined ? 500 : Number(values['batch-size']);
  if (!/^\d+$/.test(values['batch-size'] ?? '500') || !Number.isSafeInteger(batchSize) || batchSize < 1) {
    throw new UsageError(`projections rebuild: --batch-size must be a whole number ≥ 1, not '${values['batch-size']}'`);
  }
  return {
    projection,
    module: values.module,
    batchSize,
    ...(values.sqlite !== undefined && { sqlite: values.sqlite }),
    ...(values.postgres !== undefined && { postgres: values.postgres }),
    ...(values.schema !== undefined && { schema: values.schema }),
  };
}

/** `tidemark projections rebuild …`; returns the exit code. Bad arguments throw UsageError. */
export async function projectionsRebuild(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseRebuildArguments(argv);
  if (args === 'help') {
    io.stdout.write(`${projectionsRebuildUsage}\n`);
    return 0;
  }
  const { projection: name, batchSize } = args;
  let projection: Projection<SqlTx>;
  try {
    projection = await loadProjection(args.module, name);
  } catch (error) {
    // A module that is not there, or exports no such projection, is the caller's argument to fix.
    throw new UsageError(`projections rebuild: ${error instanceof Error ? error.message : String(error)}`);
  }
  const { store, checkpoints, swap, close } = await openStore(args);
  const bar = io.interactive
    ? new cliProgress.SingleBar(
        {
          format: `rebuild ${name} |{bar}| {percentage}% | {events} events | {rate} ev/s | ETA {etaText}`,
          stream: io.stdout,
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  let lastTenth = -1;
  let result: RebuildResult;
  try {
    bar?.start(100, 0, { events: 0, rate: 0, etaText: '?' });
    result = await rebuildProjection({
      store,
      projection,
      checkpoints,
      swap,
      batchSize,
      onProgress(progress) {
        const payload = {
          events: progress.eventsProcessed,
          rate: Math.round(progress.eventsPerSecond),
          etaText: progress.etaSeconds === undefined ? '?' : `${Math.ceil(progress.etaSeconds)}s`,
        };
        if (bar) bar.update(Math.floor(progress.fraction * 100), payload);
        else if (Math.floor(progress.fraction * 10) > lastTenth) {
          lastTenth = Math.floor(progress.fraction * 10);
          io.stdout.write(
            `${progress.phase} ${Math.floor(progress.fraction * 100)}% ${payload.events} events ${payload.rate} ev/s ETA ${payload.etaText}\n`,
          );
        }
      },
    });
  } finally {
    bar?.stop();
    await close();
  }
  io.stdout.write(
    `Rebuilt ${name}: ${result.eventsProcessed} events up to position ${result.position} in ${(result.durationMs / 1000).toFixed(1)} s; swapped in.\n`,
  );
  return 0;
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      module: { type: 'string' },
      sqlite: { type: 'string' },
      postgres: { type: 'string' },
      schema: { type: 'string' },
      'batch-size': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
