import type { CheckpointStore, EventBrowser, EventStore, Inbox, Outbox, SqlTransaction, StoreTransaction, TableSwap } from '@tidemark/core';
import { migrateCreatesStore, openFailure } from './openFailure.js';
import type { StoreArguments } from './storeArguments.js';

/** The transaction the CLI's projections run in: a SQL store's, whichever adapter. */
export type SqlTx = StoreTransaction & SqlTransaction;

/** A store and the other ports of the same adapter, over the same file or schema. */
export interface OpenedStore {
  store: EventStore<SqlTx>;
  checkpoints: CheckpointStore<SqlTx>;
  swap: TableSwap<SqlTx>;
  outbox: Outbox<SqlTx>;
  inbox: Inbox<SqlTx>;
  /** Read-only browsing: streams with their counts, the log newest first. */
  browser: EventBrowser;
  close(): Promise<void>;
}

/**
 * Opens the store the (already checked) arguments name. The file or schema must already hold a
 * store (StoreNotFoundError otherwise: `tidemark migrate --create-schema` makes one) at this
 * code's version (SchemaBehindError otherwise): only `tidemark migrate` changes a store's tables,
 * so looking at a store never upgrades it under the application still running older code.
 */
export async function openStore(args: StoreArguments): Promise<OpenedStore> {
  try {
    return await open(args);
  } catch (error) {
    throw openFailure(error, args, migrateCreatesStore);
  }
}

async function open(args: StoreArguments): Promise<OpenedStore> {
  if (args.sqlite !== undefined) {
    const sqlite = await import('@tidemark/sqlite');
    sqlite.assertSqliteStoreFile(args.sqlite);
    const store = sqlite.createSqliteEventStore({ file: args.sqlite, migrate: false });
    return {
      store,
      checkpoints: sqlite.createSqliteCheckpointStore(),
      swap: sqlite.createSqliteTableSwap(),
      outbox: sqlite.createSqliteOutbox(),
      inbox: sqlite.createSqliteInbox(),
      browser: sqlite.createSqliteEventBrowser(store),
      close: () => store.close(),
    };
  }
  const postgres = await import('@tidemark/postgres');
  const { default: pg } = await import('pg');
  const schema = args.schema ?? 'tidemark';
  // search_path: a projection loaded with --module finds its read-model tables in the store's schema.
  const pool = new pg.Pool({ connectionString: args.postgres, max: 3, options: `-c search_path=${schema}` });
  let store: Awaited<ReturnType<typeof postgres.createPostgresEventStore>>;
  try {
    store = await postgres.createPostgresEventStore({ pool, schema, createSchema: false, migrate: false });
  } catch (error) {
    await pool.end();
    throw error;
  }
  return {
    store,
    checkpoints: postgres.createPostgresCheckpointStore(),
    swap: postgres.createPostgresTableSwap(),
    outbox: postgres.createPostgresOutbox(),
    inbox: postgres.createPostgresInbox(),
    browser: postgres.createPostgresEventBrowser(store),
    async close() {
      await store.close();
      await pool.end();
    },
  };
}

/** Opens the store, runs `work` on it, closes it whatever happens. */
export async function withStore<T>(args: StoreArguments, work: (opened: OpenedStore) => Promise<T>): Promise<T> {
  const opened = await openStore(args);
  try {
    return await work(opened);
  } finally {
    await opened.close();
  }
}
