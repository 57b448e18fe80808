import { existsSync } from 'node:fs';
import { StoreNotFoundError } from '@tidemark/core';
import { UsageError } from '../usageError.js';

/** Which store a command works on: exactly one of a SQLite file or a PostgreSQL URL (and schema). */
export interface StoreArguments {
  sqlite?: string;
  postgres?: string;
  schema?: string;
}

/**
 * Checks the store options before anything is opened; throws UsageError naming `command` (exit
 * code 2). `mayCreate`: a missing SQLite file is fine (the command was asked to create the store).
 * A missing one otherwise is no bad argument but a store that cannot be opened, as a schema that
 * holds no store: StoreNotFoundError (exit code 1), after every check of the arguments themselves.
 */
export async function parseStoreArguments(
  command: string,
  values: { sqlite?: string | undefined; postgres?: string | undefined; schema?: string | undefined },
  mayCreate = false,
): Promise<StoreArguments> {
  if (Boolean(values.sqlite) === Boolean(values.postgres)) {
    throw new UsageError(`${command}: give exactly one of --sqlite <file> or --postgres <url>`);
  }
  if (values.schema !== undefined && !values.postgres) throw new UsageError(`${command}: --schema goes with --postgres`);
  if (values.schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(values.schema)) {
    throw new UsageError(`${command}: --schema '${values.schema}' is not a schema name (lower-case letters, digits, _)`);
  }
  if (values.postgres !== undefined && !(await isPostgresUrl(values.postgres))) {
    // Never the URL itself: it may hold a password.
    throw new UsageError(`${command}: --postgres must be a postgres:// URL, such as postgres://user@localhost:5432/database`);
  }
  // Opening a SQLite store creates the file: a mistyped path would act on an empty new store.
  if (values.sqlite !== undefined && !mayCreate && !existsSync(values.sqlite)) {
    const missing = new StoreNotFoundError(`The SQLite file '${values.sqlite}'`);
    missing.message = `${command}: --sqlite ${values.sqlite}: no such file`;
    throw missing;
  }
  return {
    ...(values.sqlite !== undefined && { sqlite: values.sqlite }),
    ...(values.postgres !== undefined && { postgres: values.postgres }),
    ...(values.schema !== undefined && { schema: values.schema }),
  };
}

/**
 * Whether pg itself can read the URL: a client is only configured here, not connected. pg's
 * parser is more lenient than `new URL` (it encodes spaces, allows an empty host), so judging
 * by its answer refuses nothing pg would accept; it is loaded only when --postgres is given.
 */
async function isPostgresUrl(url: string): Promise<boolean> {
  if (!/^postgres(ql)?:\/\//.test(url)) return false;
  const { default: pg } = await import('pg');
  try {
    new pg.Client({ connectionString: url });
    return true;
  } catch (error) {
    // Other failures (an sslrootcert file that cannot be read) are reported when the store opens.
    return (error as { code?: unknown }).code !== 'ERR_INVALID_URL';
  }
}
