import { StoreNotFoundError } from '@tidemark/core';
import { escapeControls } from '../output/escapeControls.js';
import type { StoreArguments } from './storeArguments.js';

/** The hint for a command that cannot create a store: only `tidemark migrate` takes --create-schema. */
export const migrateCreatesStore = 'tidemark migrate --create-schema to create one';

/**
 * A failure to open the store the arguments name, said in the command line's terms. Core's
 * StoreNotFoundError suggests the library's `createSchema: true`: here it gets `createHint`, what
 * the running command can do about it (still a StoreNotFoundError, for callers that check). And
 * better-sqlite3's "file is not a database" names no file: here it names --sqlite's, escaped. A
 * server that could not be reached at all needs nothing: the store's ServerUnreachableError already
 * says "cannot connect to PostgreSQL at host:port", without the URL's password.
 */
export function openFailure(error: unknown, args: StoreArguments, createHint: string): unknown {
  if (error instanceof StoreNotFoundError) {
    const where = String(error.details.where);
    const rephrased = new StoreNotFoundError(where);
    rephrased.message = `${where} holds no tidemark store (${createHint})`;
    return rephrased;
  }
  if (args.sqlite !== undefined && (error as { code?: unknown } | null)?.code === 'SQLITE_NOTADB') {
    return new Error(`--sqlite ${escapeControls(JSON.stringify(args.sqlite))} is not a SQLite database`, { cause: error });
  }
  return error;
}
