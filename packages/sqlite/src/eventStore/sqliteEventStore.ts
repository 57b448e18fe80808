import {
  type AppendHook,
  type AppendLimits,
  type AppendResult,
  type Clock,
  createMutex,
  defaultAppendLimits,
  type EventMetadata,
  type EventStore,
  type PreparedAppend,
  prepareAppend,
  type RecordedEvent,
  resolveAllRange,
  type SqlTransaction,
  type StoreTransaction,
  systemClock,
  ValidationError,
} from '@tidemark/core';
import type { Database } from 'better-sqlite3';
import { migrateSqliteSchema } from '../schema/migrateSqliteSchema.js';
import { isTransientSqliteError } from './isTransientSqliteError.js';
import { isMemoryDatabase, openSqliteDatabase } from './openSqliteDatabase.js';
import { createSqliteAppendWriter } from './sqliteAppendWriter.js';
import { toRecordedEvent } from './sqliteRowMapping.js';
import { createSqliteSqlExecutor } from './sqliteSqlExecutor.js';
import { type FilteredReadAll, prepareFilteredReadAll, prepareSqliteStatements } from './sqliteStatements.js';
import { createSqliteStreamReads } from './sqliteStreamReads.js';

export interface SqliteEventStoreOptions {
  /** Path of the database file (created when missing); ':memory:' for a private throwaway store. */
  file: string;
  /** FULL (default): a resolved append survives power loss. NORMAL: it survives a process crash only. */
  synchronous?: 'FULL' | 'NORMAL';
  limits?: Partial<AppendLimits>;
  /** Merged under every event's own metadata (service name and version, say). */
  defaultMetadata?: EventMetadata;
  clock?: Clock;
  /** How long a write waits for another connection's (another process's) write lock. Default 5 s. */
  busyTimeoutMs?: number;
}

/** The unit of work on SQLite: appends, SQL and direct better-sqlite3 calls in one transaction. */
export interface SqliteTransaction extends StoreTransaction, SqlTransaction {
  /** The writer connection, inside this transaction: synchronous read-model writes at full speed. */
  readonly db: Database;
}

/**
 * The embedded default event store on one SQLite file.
 *
 * better-sqlite3 is synchronous and a connection has one transaction, so an async
 * `transaction(work)` holds a FIFO mutex from BEGIN IMMEDIATE to COMMIT and every other write
 * waits for it. A plain append with no hooks never awaits: when the mutex is free it runs as
 * one synchronous better-sqlite3 transaction, the same work a raw INSERT-per-commit does.
 *
 * Store-level reads use a second, query-only connection: under WAL it sees exactly the
 * committed events, so reads neither see a transaction's uncommitted appends nor wait for it
 * (as with the in-memory store). A ':memory:' database cannot be shared by two connections;
 * there reads wait for an open transaction instead.
 */
export function createSqliteEventStore(options: SqliteEventStoreOptions): EventStore<SqliteTransaction> {
  const file = options?.file;
  if (typeof file !== 'string') throw new ValidationError('createSqliteEventStore needs a file path', { field: 'file' });
  const synchronous = options.synchronous ?? 'FULL';
  if (synchronous !== 'FULL' && synchronous !== 'NORMAL') {
    throw new ValidationError(`synchronous must be 'FULL' or 'NORMAL', not ${JSON.stringify(synchronous)}`, { field: 'synchronous' });
  }
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  if (!Number.isFinite(busyTimeoutMs) || busyTimeoutMs < 0) {
    throw new ValidationError('busyTimeoutMs must be a number ≥ 0', { field: 'busyTimeoutMs' });
  }
  const limits = { ...defaultAppendLimits, ...options.limits };
  const clock = options.clock ?? systemClock;

  const db = openSqliteDatabase(file, { synchronous, busyTimeoutMs });
  let readDb: Database;
  try {
    migrateSqliteSchema(db, file);
    readDb = isMemoryDatabase(file) ? db : openSqliteDatabase(file, { synchronous, busyTimeoutMs, readOnly: true });
  } catch (error) {
    db.close();
    throw error;
  }
  const sharedConnection = readDb === db;

  const writes = prepareSqliteStatements(db);
  const reads = sharedConnection ? writes : prepareSqliteStatements(readDb);
  const writeAppend = createSqliteAppendWriter(writes, clock);
  const appendImmediately = db.transaction(writeAppend).immediate;
  const begin = db.prepare('BEGIN IMMEDIATE');
  const commit = db.prepare('COMMIT');
  const rollback = db.prepare('ROLLBACK');
  const filteredReadAll = new Map<string, FilteredReadAll>();

  const hooks: AppendHook<SqliteTransaction>[] = [];
  const listeners = new Set<() => void>();
  const mutex = createMutex();
  let closed = false;
  let closing: Promise<void> | undefined;

  const assertOpen = () => {
    if (closed) throw new ValidationError('The event store is closed');
  };

  /** On a shared ':memory:' connection a read must not run inside someone's open transaction. */
  async function whenReadable<T>(read: () => T | Promise<T>): Promise<T> {
    return sharedConnection && mutex.locked ? mutex.run(async () => read()) : read();
  }

  function notifyAppended(): void {
    for (const listener of listeners) {
      try {
        listener();
      } catch (error) {
        // The append is committed; a failing wake-up hint must not make it look failed.
        process.emitWarning(`onAppended listener threw: ${(error as Error)?.message ?? String(error)}`);
      }
    }
  }

  function rollbackIfOpen(): void {
    // SQLite may already have rolled back by itself (I/O error, disk full).
    if (db.inTransaction) rollback.run();
  }

  async function transaction<T>(work: (tx: SqliteTransaction) => Promise<T>): Promise<T> {
    // async: a closed store rejects, as every other operation does, instead of throwing synchronously.
    assertOpen();
    return mutex.run(async () => {
      begin.run();
      let finished = false;
      let wrote = false;
      const onCommit: Array<() => void> = [];
      const onRollback: Array<() => void> = [];
      const assertActive = () => {
        if (finished) throw new ValidationError('This transaction has already committed or rolled back');
      };
      const tx: SqliteTransaction = {
        db,
        sql: createSqliteSqlExecutor(db, assertActive),
        ...createSqliteStreamReads(writes, assertActive),
        async appendToStream(streamId, events, appendOptions) {
          assertActive();
          const prepared = prepareAppend(streamId, events, appendOptions, limits, options.defaultMetadata);
          // A savepoint per append: a throwing hook (or a conflict) undoes this append alone and
          // leaves the rest of the transaction to the caller.
          writes.savepoint.run();
          let result: AppendResult;
          try {
            result = writeAppend(prepared);
            if (result.written) for (const hook of hooks) await hook(result.events, tx);
          } catch (error) {
            if (db.inTransaction) {
              writes.rollbackToSavepoint.run();
              writes.releaseSavepoint.run();
            }
            throw error;
          }
          writes.releaseSavepoint.run();
          if (result.written) wrote = true;
          return result;
        },
        afterCommit: (callback) => void onCommit.push(callback),
        afterRollback: (callback) => void onRollback.push(callback),
      };
      let result: T;
      try {
        result = await work(tx);
        finished = true;
        commit.run();
      } catch (error) {
        finished = true;
        rollbackIfOpen();
        for (const callback of onRollback) callback();
        throw error;
      }
      for (const callback of onCommit) callback();
      if (wrote) notifyAppended();
      return result;
    });
  }

  function appendNow(prepared: PreparedAppend): AppendResult {
    const result = appendImmediately(prepared);
    if (result.written) notifyAppended();
    return result;
  }

  /** Prepared once per filter shape (how many types, how many categories): values are bound. */
  function filteredReadAllFor(typeCount: number, categoryCount: number): FilteredReadAll {
    const key = `${typeCount}:${categoryCount}`;
    let filtered = filteredReadAll.get(key);
    if (!filtered) {
      filtered = prepareFilteredReadAll(readDb, typeCount, categoryCount);
      filteredReadAll.set(key, filtered);
    }
    return filtered;
  }

  const committedReads = createSqliteStreamReads(reads, assertOpen);

  return {
    readStream: (streamId, readOptions) => whenReadable(() => committedReads.readStream(streamId, readOptions)),
    streamExists: (streamId) => whenReadable(() => committedReads.streamExists(streamId)),
    aggregateStream: (streamId, evolver, aggregateOptions) =>
      whenReadable(() => committedReads.aggregateStream(streamId, evolver, aggregateOptions)),

    async appendToStream(streamId, events, appendOptions) {
      assertOpen();
      // Hooks may await, so they need the async transaction (and its mutex).
      if (hooks.length > 0) return transaction((tx) => tx.appendToStream(streamId, events, appendOptions));
      const prepared = prepareAppend(streamId, events, appendOptions, limits, options.defaultMetadata);
      // The mutex is free unless a transaction is open or queued: then wait our turn.
      if (mutex.locked) return mutex.run(async () => appendNow(prepared));
      return appendNow(prepared);
    },

    async *readAll(readOptions): AsyncGenerator<RecordedEvent> {
      assertOpen();
      const range = resolveAllRange(readOptions);
      // An empty filter list matches nothing, as in the in-memory store.
      if (range.types?.length === 0 || range.categories?.length === 0) return;
      // Deduplicated: each category or type becomes its own UNION ALL branch, and a repeated one
      // would deliver its events twice.
      const types = [...new Set(range.types ?? [])];
      const categories = [...new Set(range.categories ?? [])];
      const filtered = types.length + categories.length > 0 ? filteredReadAllFor(types.length, categories.length) : undefined;
      let after = range.after;
      let remaining = range.limit;
      // Each page is a fresh query from the last position seen, so events committed while the
      // caller iterates are picked up, and memory holds one page at most. Stop only on an empty
      // page: an event committed while the last page was consumed is still delivered.
      while (remaining > 0) {
        assertOpen();
        const size = Math.min(range.batchSize, remaining);
        const rows = await whenReadable(() =>
          filtered ? filtered.statement.all(...filtered.parameters(after, types, categories, size)) : reads.readAll.all(after, size),
        );
        if (rows.length === 0) return;
        for (const row of rows) yield toRecordedEvent(row);
        remaining -= rows.length;
        after = rows[rows.length - 1]![0];
      }
    },

    async headPosition() {
      assertOpen();
      return whenReadable(() => reads.headPosition.get() ?? 0);
    },

    transaction,

    onAppended(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    addAppendHook: (hook) => void hooks.push(hook),

    isTransient: isTransientSqliteError,

    close() {
      closed = true;
      // Let transactions already running or queued finish before the connections go away.
      closing ??= mutex.run(async () => {
        if (!sharedConnection) readDb.close();
        db.close();
      });
      return closing;
    },
  };
}
