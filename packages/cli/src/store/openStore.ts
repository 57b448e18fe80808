import type {
  CheckpointStore,
  EventBrowser,
  EventStage,
  EventStore,
  Inbox,
  Outbox,
  RecordedEvent,
  SqlTransaction,
  StoreTransaction,
  TableSwap,
} from '@tidemark/core';
import type pg from 'pg';
import { createDeferredStages, type DeferredStages } from './deferredStages.js';
import { migrateCreatesStore, openFailure } from './openFailure.js';
import type { StoreArguments } from './storeArguments.js';

/** The transaction the CLI's projections run in: a SQL store's, whichever adapter. */
export type SqlTx = StoreTransaction & SqlTransaction;

/**
 * What a `--module`'s `stages` function receives: the opened store and where it lives, so that it
 * can build the application's stages over the same database — crypto-shredding's key store on the
 * same SQLite file, or on the same pool and schema. `onClose` registers what to close when the
 * command ends (a key store's connection).
 */
export interface StagesContext {
  store: EventStore;
  /** The SQLite store file (with --sqlite). */
  sqlite?: string;
  /** The PostgreSQL pool (its search_path the store's schema) and the schema (with --postgres). */
  postgres?: { pool: pg.Pool; schema: string };
  onClose(close: () => unknown): void;
}

/**
 * The application's event stages, as a `--module` exports them under the name `stages`: the same
 * array its store gets as `stages` (upcasting, validation, then crypto-shredding), or a function
 * of the opened store that builds them.
 */
export type ModuleStages = readonly EventStage[] | ((context: StagesContext) => readonly EventStage[] | Promise<readonly EventStage[]>);

/** A store and the other ports of the same adapter, over the same file or schema. */
export interface OpenedStore {
  store: EventStore<SqlTx>;
  checkpoints: CheckpointStore<SqlTx>;
  swap: TableSwap<SqlTx>;
  outbox: Outbox<SqlTx>;
  inbox: Inbox<SqlTx>;
  /** Read-only browsing: streams with their counts, the log newest first. */
  browser: EventBrowser;
  /**
   * Opened with a module's stages: runs events through their read side (decrypted, upcast), for
   * copies of events kept outside the log, such as a dead letter. Idempotent on an event already
   * read through them: plaintext is left as it is, a latest version is not upcast again.
   */
  readStages?: (events: readonly RecordedEvent[]) => Promise<readonly RecordedEvent[]>;
  close(): Promise<void>;
}

/**
 * Opens the store the (already checked) arguments name. The file or schema must already hold a
 * store (StoreNotFoundError otherwise: `tidemark migrate --create-schema` makes one) at this
 * code's version (SchemaBehindError otherwise): only `tidemark migrate` changes a store's tables,
 * so looking at a store never upgrades it under the application still running older code.
 */
export async function openStore(args: StoreArguments, stages?: ModuleStages): Promise<OpenedStore> {
  let opened: Opened;
  try {
    opened = await open(args, stages === undefined ? undefined : createDeferredStages());
  } catch (error) {
    throw openFailure(error, args, migrateCreatesStore);
  }
  return stages === undefined ? opened : await withStages(opened, args, stages);
}

/** The opened store reading (and writing) through the module's stages, built now that the store is known. */
async function withStages(opened: Opened, args: StoreArguments, stages: ModuleStages): Promise<OpenedStore> {
  const closers: Array<() => unknown> = [];
  const close = async () => {
    for (const closer of closers.reverse()) await closer();
    await opened.close();
  };
  try {
    const resolved =
      typeof stages === 'function'
        ? await stages({
            store: opened.store as EventStore,
            ...(args.sqlite !== undefined && { sqlite: args.sqlite }),
            ...(opened.pool && { postgres: { pool: opened.pool, schema: args.schema ?? 'tidemark' } }),
            onClose: (closer) => closers.push(closer),
          })
        : stages;
    opened.deferred?.resolve(resolved);
  } catch (error) {
    await close().catch(() => {});
    throw new Error(`the module's stages could not be built: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const { deferred, pool: _pool, ...store } = opened;
  const read = deferred?.stage.read;
  return { ...store, ...(read && { readStages: async (events: readonly RecordedEvent[]) => read(events) }), close };
}

/** What `open` gives `withStages`: the stand-in for the stages to resolve, and PostgreSQL's pool. */
type Opened = OpenedStore & { deferred?: DeferredStages; pool?: pg.Pool };

async function open(args: StoreArguments, deferred?: DeferredStages): Promise<Opened> {
  const stages = deferred ? { stages: [deferred.stage] } : {};
  if (args.sqlite !== undefined) {
    const sqlite = await import('@tidemark/sqlite');
    sqlite.assertSqliteStoreFile(args.sqlite);
    const store = sqlite.createSqliteEventStore({ file: args.sqlite, migrate: false, ...stages });
    return {
      ...(deferred && { deferred }),
      store,
      checkpoints: sqlite.createSqliteCheckpointStore(),
      swap: sqlite.createSqliteTableSwap(),
      outbox: sqlite.createSqliteOutbox(),
      inbox: sqlite.createSqliteInbox(),
      browser: sqlite.createSqliteEventBrowser(store, stages),
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
    store = await postgres.createPostgresEventStore({ pool, schema, createSchema: false, migrate: false, ...stages });
  } catch (error) {
    await pool.end();
    throw error;
  }
  return {
    ...(deferred && { deferred }),
    pool,
    store,
    checkpoints: postgres.createPostgresCheckpointStore(),
    swap: postgres.createPostgresTableSwap(),
    outbox: postgres.createPostgresOutbox(),
    inbox: postgres.createPostgresInbox(),
    browser: postgres.createPostgresEventBrowser(store, stages),
    async close() {
      await store.close();
      await pool.end();
    },
  };
}

/** Opens the store, runs `work` on it, closes it whatever happens. */
export async function withStore<T>(args: StoreArguments, work: (opened: OpenedStore) => Promise<T>, stages?: ModuleStages): Promise<T> {
  const opened = await openStore(args, stages);
  try {
    return await work(opened);
  } finally {
    await opened.close();
  }
}
