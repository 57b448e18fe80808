import { existsSync } from 'node:fs';
import { UsageError } from '../usageError.js';

/** Which store a command works on: exactly one of a SQLite file or a PostgreSQL URL (and schema). */
export interface StoreArguments {
  sqlite?: string;
  postgres?: string;
  schema?: string;
}

/** The parseArgs options every store command takes. */
export const storeOptions = {
  sqlite: { type: 'string' },
  postgres: { type: 'string' },
  schema: { type: 'string' },
} as const;

/**
 * Checks the store options before anything is opened; throws UsageError naming `command`.
 * `mayCreate`: a missing SQLite file is fine (the command was asked to create the store).
 */
export function parseStoreArguments(
  command: string,
  values: { sqlite?: string | undefined; postgres?: string | undefined; schema?: string | undefined },
  mayCreate = false,
): StoreArguments {
  if (Boolean(values.sqlite) === Boolean(values.postgres)) {
    throw new UsageError(`${command}: give exactly one of --sqlite <file> or --postgres <url>`);
  }
  // Opening a SQLite store creates the file: a mistyped path would act on an empty new store.
  if (values.sqlite !== undefined && !mayCreate && !existsSync(values.sqlite)) {
    throw new UsageError(`${command}: --sqlite ${values.sqlite}: no such file`);
  }
  if (values.schema !== undefined && !values.postgres) throw new UsageError(`${command}: --schema goes with --postgres`);
  if (values.schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(values.schema)) {
    throw new UsageError(`${command}: --schema '${values.schema}' is not a schema name (lower-case letters, digits, _)`);
  }
  if (values.postgres !== undefined && !/^postgres(ql)?:\/\//.test(values.postgres)) {
    throw new UsageError(`${command}: --postgres must be a postgres:// URL`);
  }
  return {
    ...(values.sqlite !== undefined && { sqlite: values.sqlite }),
    ...(values.postgres !== undefined && { postgres: values.postgres }),
    ...(values.schema !== undefined && { schema: values.schema }),
  };
}
