import { existsSync, statSync } from 'node:fs';
import {
  type AppendHook,
  type AppendLimits,
  type AppendOptions,
  type AppendResult,
  assertAppendAllowed,
  type Clock,
  createAcceptedCalls,
  createAppendTurns,
  createEventPipeline,
  type ErrorReporter,
  type EventMetadata,
  type EventStage,
  type EventStore,
  isPromiseLike,
  type LogPage,
  type NewEvent,
  type PreparedAppend,
  prepareAppend,
  type ReadPageOptions,
  resolveAppendLimits,
  resolveDurability,
  resolveRetryOptions,
  retryUnitOfWork,
  runAfterCommit,
  SchemaBehindError,
  type SqlQueries,
  type SqlTransaction,
  type StoreTransaction,
  systemClock,
  type TransactionDurability,
  type TransactionOptions,
  tracedAppend,
  ValidationError,
  warnOnError,
} from '@tidemark/core';
import type { Database } from 'better-sqlite3';
import { migrateSqliteSchema } from '../schema/migrateSqliteSchema.js';
import { sqliteMigrations } from '../schema/sqliteSchema.js';
import { isTransientSqliteError } from './isTransientSqliteError.js';
import { isMemoryDatabase, openSqliteDatabase } from './openSqliteDatabase.js';
import { createSqliteAppendWriter } from './sqliteAppendWriter.js';
import { createSqliteBatchWriter } from './sqliteBatchWriter.js';
import { createSqliteEventSchemaStore } from './sqliteEventSchemaStore.js';
import { createSqliteGroupCommit, type SqliteWriterThreadState } from './sqliteGroupCommit.js';
import { createSqliteLogReads } from './sqliteLogReads.js';
import { createSqliteSqlExecutor } from './sqliteSqlExecutor.js';
import { prepareSqliteStatements } from './sqliteStatements.js';
import { createSqliteStreamLifecycle } from './sqliteStreamLifecycle.js';
import { createSqliteStreamReads } from './sqliteStreamReads.js';
import { acquireSqliteWriterLock } from './sqliteWriterLock.js';
import { startSqliteWriterThread } from './sqliteWriterThread.js';
import { storeBusy } from './storeBusy.js';
import { truncateWal } from './truncateWal.js';

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
  /** Receives failures of afterCommit callbacks and onAppended listeners. Default: a process warning. */
  onError?: ErrorReporter;
  /**
   * Run the migrations a file behind this code needs (default true). False: write nothing and
   * refuse a file that is behind (SchemaBehindError); migrate with `tidemark migrate --sqlite`.
   * False does not make the store read-only: it still appends, so a file this process cannot
   * write (nor its directory, where the -wal and -shm files go) is refused at creation either
   * way (ReadOnlyDatabaseError).
   */
  migrate?: boolean;
  /**
   * After this long without a write the store checkpoints the WAL into the database and
   * truncates it (never on a write's path). A reader holding a read transaction (a backup, a
   * BI tool) keeps the WAL from being truncated; the store tries again each quiet period until
   * it succeeds. Default 1000 ms.
   */
  walCheckpointIdleMs?: number;
  /**
   * Group commit (default true): autocommit appends arriving in the same event-loop turn as a
   * commit share the next one (a failing append is rolled back alone), so concurrent writers
   * share one fsync. A lone append on an idle store still commits at once, but a single
   * sequential writer's next append waits one event-loop turn (about 10 µs after an fsync,
   * measured; BENCHMARKS.md). false: one transaction per append, at once. See sqliteGroupCommit.ts.
   */
  groupCommit?: boolean;
  /**
   * A writer thread for group commit: a second connection to the file, in a worker, that
   * writes the batches, so their inserts, COMMIT, fsync and SQLite's automatic checkpoints leave
   * the event loop. 'auto' starts it the first time appends arrive together and sends it the
   * batches of several appends, while a lone append on an idle store still commits here without
   * the hop; 'always' starts it at once and sends it every batch. Default false: it pays off when
   * the event loop has other work to do meanwhile (an HTTP server, projectors: the shop serves 9%
   * more deposits with 'auto'), while a loop that only appends is faster without the hops
   * (BENCHMARKS.md). Ignored for ':memory:' and with groupCommit: false.
   */
  writerThread?: 'auto' | 'always' | false;
  /** The event pipeline (upcasting and validation, then encryption): see EventStage. */
  stages?: readonly EventStage[];
}

/** The SQLite event store, with its WAL exposed for monitoring. */
export interface SqliteEventStore extends EventStore<SqliteTransaction> {
  /** Always present here (optional on the port). */
  readPage(options: ReadPageOptions): Promise<LogPage>;
  /** Read-only SQL on committed data (the read connection): read models served beside the writer. */
  readonly queries: SqlQueries;
  /** Bytes in the write-ahead log now (0 for ':memory:'): export it as a metric. */
  walSize(): number;
  /**
   * Where group commit writes its batches: 'off' (disabled, ':memory:' or no group commit),
   * 'not-started' (no appends have arrived together yet), 'starting', 'running' (on the writer
   * thread), 'failed' (it could not start or died; onError was told, and batches are written
   * on the store's own thread), or 'closed' (close() has resolved: the thread, if one started, has
   * exited; while close() waits for appends already accepted it still reads as before).
   */
  writerThread(): SqliteWriterThreadState;
}

/** The unit of work on SQLite: appends, SQL and direct better-sqlite3 calls in one transaction. */
export interface SqliteTransaction extends StoreTransaction, SqlTransaction {
  /**
   * The writer connection, inside this transaction: synchronous read-model writes at full speed.
   * Its calls run at once, inside whatever append is in flight: issued beside a hooked append
   * (not from its hooks), they are undone if that append rolls back. Await the append first.
   */
  readonly db: Database;
}

/**
 * The embedded default event store on one SQLite file.
 *
 * better-sqlite3 is synchronous and a connection has one transaction, so an async
 * `transaction(work)` holds a FIFO mutex from BEGIN IMMEDIATE to COMMIT and every other write
 * waits for it. The mutex belongs to the file: every store of this process on the same file
 * shares it (sqliteWriterLock.ts), so a second instance waits its turn instead of blocking the
 * event loop on SQLite's lock. Another process holding the lock past `busyTimeoutMs` is a
 * StoreBusyError. Calling the store (not `tx`) inside its transaction is a NestedStoreCallError.
 * A plain append with no hooks never awaits: when the mutex is free it runs as one synchronous
 * better-sqlite3 transaction, the same work a raw INSERT-per-commit does.
 *
 * Store-level reads use a second, query-only connection: under WAL it sees exactly the
 * committed events, so reads neither see a transaction's uncommitted appends nor wait for it
 * (as with the in-memory store). A ':memory:' database cannot be shared by two connections;
 * there reads wait for an open transaction instead.
 */
export function createSqliteEventStore(options: SqliteEventStoreOptions): SqliteEventStore {
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
  const limits = resolveAppendLimits(options.limits);
  const clock = options.clock ?? systemClock;
  const pipeline = createEventPipeline(options.stages);

  const writerThreadMode = options.writerThread ?? false;
  if (writerThreadMode !== 'auto' && writerThreadMode !== 'always' && writerThreadMode !== false) {
    throw new ValidationError(`writerThread must be 'auto', 'always' or false, not ${JSON.stringify(writerThreadMode)}`, {
      field: 'writerThread',
    });
  }
  const walCheckpointIdleMs = options.walCheckpointIdleMs ?? 1000;
  if (!(walCheckpointIdleMs > 0)) throw new ValidationError('walCheckpointIdleMs must be > 0', { field: 'walCheckpointIdleMs' });

  // `migrate: false` writes nothing, not even the empty database a mistyped path would become.
  if (options.migrate === false && !isMemoryDatabase(file) && !existsSync(file)) {
    throw new SchemaBehindError(`The SQLite file '${file}'`, 0, sqliteMigrations[sqliteMigrations.length - 1]!.version);
  }
  const db = openSqliteDatabase(file, { synchronous, busyTimeoutMs });
  let readDb: Database;
  let writerLock: ReturnType<typeof acquireSqliteWriterLock>;
  try {
    writerLock = acquireSqliteWriterLock(file);
  } catch (error) {
    db.close();
    throw error;
  }
  try {
    migrateSqliteSchema(db, file, sqliteMigrations, { ...(options.migrate !== undefined && { migrate: options.migrate }) });
    readDb = isMemoryDatabase(file) ? db : openSqliteDatabase(file, { synchronous, busyTimeoutMs, readOnly: true });
  } catch (error) {
    writerLock.release();
    db.close();
    throw storeBusy(error, file, busyTimeoutMs);
  }
  const sharedConnection = readDb === db;

  const writes = prepareSqliteStatements(db);
  const reads = sharedConnection ? writes : prepareSqliteStatements(readDb);
  const writeAppend = createSqliteAppendWriter(writes, clock, options.defaultMetadata);
  const appendImmediately = db.transaction(writeAppend).immediate;
  const begin = db.prepare('BEGIN IMMEDIATE');
  const commit = db.prepare('COMMIT');
  const rollback = db.prepare('ROLLBACK');
  // One executor for the store's life, so its prepared statements outlive each transaction.
  const sharedSql = createSqliteSqlExecutor(db);
  const readSql = createSqliteSqlExecutor(readDb, () => assertOpen(), 'read-only');

  const hooks: AppendHook<SqliteTransaction>[] = [];
  const listeners = new Set<() => void>();
  const { mutex, scope } = writerLock;
  let closed = false;
  let closing: Promise<void> | undefined;

  const assertOpen = () => {
    if (closed) throw new ValidationError('The event store is closed');
  };

  /** Appends and transactions accepted and not settled yet (their write stages, retries): close() waits for them. */
  const { accept, settled } = createAcceptedCalls(assertOpen);

  /** On a shared ':memory:' connection a read must not run inside someone's open transaction. */
  async function whenReadable<T>(operation: string, read: () => T | Promise<T>): Promise<T> {
    if (!sharedConnection) return read();
    // It would wait for the very transaction whose work is calling it.
    scope.assertOutside(operation);
    return mutex.locked ? mutex.run(async () => read()) : read();
  }

  const onError = options.onError ?? warnOnError;

  function notifyAppended(): void {
    // The append is committed; a failing wake-up hint must not make it look failed.
    runAfterCommit([...listeners], onError, 'onAppended listener failed');
  }

  const walFile = isMemoryDatabase(file) ? undefined : `${file}-wal`;
  let walTimer: NodeJS.Timeout | undefined;

  /** After a commit: (re)arm the idle timer; it fires once writes have been quiet for walCheckpointIdleMs. */
  function wroteToWal(): void {
    if (!walFile || closed) return;
    if (walTimer) walTimer.refresh();
    else walTimer = setTimeout(checkpointWalWhenIdle, walCheckpointIdleMs).unref();
  }

  function checkpointWalWhenIdle(): void {
    walTimer = undefined;
    if (closed) return;
    // Never inside (or ahead of) a transaction of ours: only when the writer is truly idle.
    if (mutex.locked || db.inTransaction || !truncateWal(db, busyTimeoutMs)) wroteToWal();
  }

  function rollbackIfOpen(): void {
    // SQLite may already have rolled back by itself (I/O error, disk full).
    if (db.inTransaction) rollback.run();
  }

  /** An append whose events already went through the write stages (the group commit's hooked batches). */
  type StagedAppend = (streamId: string, events: readonly NewEvent[], appendOptions: AppendOptions | undefined) => Promise<AppendResult>;

  function transaction<T>(work: (tx: SqliteTransaction) => Promise<T>, transactionOptions?: TransactionOptions): Promise<T> {
    // A closed store rejects, as every other operation does, instead of throwing synchronously;
    // an open one is closed only once this has settled, its retries included.
    return accept(async () => {
      scope.assertOutside('transaction');
      const durability = resolveDurability(transactionOptions?.durability);
      if (!transactionOptions?.retry) return runOnce(work, durability);
      const retry = resolveRetryOptions(transactionOptions.retry);
      return retryUnitOfWork(() => runOnce(work, durability), retry);
    });
  }

  function runOnce<T>(
    work: (tx: SqliteTransaction, appendStaged: StagedAppend) => Promise<T>,
    durability: TransactionDurability,
  ): Promise<T> {
    // SQLite refuses to change the level inside a transaction; the mutex keeps every other
    // write off this connection until it is restored.
    const relax = durability === 'relaxed' && synchronous === 'FULL';
    return mutex.run(async () => {
      if (relax) db.pragma('synchronous = NORMAL');
      try {
        return await runLocked(work, durability);
      } finally {
        if (relax) db.pragma('synchronous = FULL');
      }
    });
  }

  async function runLocked<T>(
    work: (tx: SqliteTransaction, appendStaged: StagedAppend) => Promise<T>,
    durability: TransactionDurability,
  ): Promise<T> {
    try {
      begin.run();
    } catch (error) {
      throw storeBusy(error, file, busyTimeoutMs);
    }
    let finished = false;
    let wrote = false;
    const onCommit: Array<() => void> = [];
    const onRollback: Array<() => void> = [];
    const assertActive = () => {
      if (finished) throw new ValidationError('This transaction has already committed or rolled back');
    };
    // An append spans awaits (stages, hooks) between its savepoint and its release: appends
    // called concurrently take turns, and other calls wait for the one in flight (appendTurns.ts).
    const turns = createAppendTurns();
    const writeStaged: StagedAppend = async (streamId, events, appendOptions) => {
      assertActive();
      assertAppendAllowed(durability);
      const prepared = prepareAppend(streamId, events, appendOptions, limits, options.defaultMetadata);
      // A savepoint per append: a throwing hook (or a conflict) undoes this append alone and
      // leaves the rest of the transaction to the caller.
      writes.savepoint.run();
      let result: AppendResult;
      try {
        result = writeAppend(prepared);
        if (result.written) {
          // Hooks and the caller see the events as readers will (decrypted, upcast).
          const read = pipeline.readResult(result);
          result = isPromiseLike(read) ? await read : read;
          for (const hook of hooks) await hook(result.events, tx);
        }
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
    };
    const appendStaged: StagedAppend = (streamId, events, appendOptions) => turns.unit(() => writeStaged(streamId, events, appendOptions));
    const reads = createSqliteStreamReads(writes, assertActive, pipeline);
    const tx: SqliteTransaction = {
      db,
      clock,
      sql: {
        query<Row extends Record<string, unknown>>(text: string, params?: readonly unknown[]) {
          return turns.call(async () => {
            assertActive();
            return sharedSql.query<Row>(text, params);
          });
        },
        execute: (text, params) =>
          turns.call(async () => {
            assertActive();
            return sharedSql.execute(text, params);
          }),
      },
      // One write transaction at a time on SQLite: set-ups cannot race.
      lockForSetup: async () => assertActive(),
      readStream: (streamId, readOptions) => turns.call(() => reads.readStream(streamId, readOptions)),
      streamExists: (streamId) => turns.call(() => reads.streamExists(streamId)),
      aggregateStream: (streamId, evolver, aggregateOptions) =>
        turns.call(() => reads.aggregateStream(streamId, evolver, aggregateOptions)),
      // The turn is taken before the write stages, which may await: units start in call order.
      appendToStream: tracedAppend((streamId, events, appendOptions) =>
        turns.unit(async () => {
          assertActive();
          const written = pipeline.write(events, streamId);
          return writeStaged(streamId, isPromiseLike(written) ? await written : written, appendOptions);
        }),
      ),
      afterCommit: (callback) => void onCommit.push(callback),
      afterRollback: (callback) => void onRollback.push(callback),
    };
    let result: T;
    try {
      result = await scope.run(async () => {
        const value = await work(tx, appendStaged);
        // Appends the work left running are part of it: COMMIT would take one half done (its
        // savepoint open, its hooks' writes missing), so it waits for them (appendTurns.ts).
        await turns.idle();
        return value;
      });
      finished = true;
      commit.run();
    } catch (error) {
      finished = true;
      // Appends still running fail at their next call on tx (their failures change nothing now),
      // and roll back to their savepoint while this transaction is the connection's: not the next one's.
      await turns.idle().catch(() => {});
      rollbackIfOpen();
      for (const callback of onRollback) callback();
      throw storeBusy(error, file, busyTimeoutMs);
    }
    wroteToWal();
    runAfterCommit(onCommit, onError, 'afterCommit callback failed');
    if (wrote) notifyAppended();
    return result;
  }

  // A private ':memory:' database has no second connection to give a thread.
  const startThread =
    writerThreadMode === false || isMemoryDatabase(file)
      ? undefined
      : () =>
          startSqliteWriterThread({
            file,
            synchronous,
            busyTimeoutMs,
            defaultMetadata: options.defaultMetadata,
            onFailure: (error) => onError(error, 'The SQLite writer thread failed; the store writes on its own thread'),
          });
  const groupCommit =
    options.groupCommit === false
      ? undefined
      : createSqliteGroupCommit({
          db,
          writeBatch: createSqliteBatchWriter(db, writes, writeAppend),
          startThread,
          loneAppendsOnThread: writerThreadMode === 'always',
          now: () => clock.now().getTime(),
          mutex,
          prepare: (streamId, events, appendOptions) => prepareAppend(streamId, events, appendOptions, limits, options.defaultMetadata),
          hooked: () => hooks.length > 0,
          // Not `transaction`: appends accepted before close() still commit while it waits for them.
          appendInTransaction: (work) =>
            runOnce((_tx, appendStaged) => work((item) => appendStaged(item.streamId, item.events, item.options)), 'full'),
          notifyAppended: () => {
            wroteToWal();
            notifyAppended();
          },
          finish: (result) => pipeline.readCommitted(result),
        });

  if (writerThreadMode === 'always') groupCommit?.startThread();

  function appendNow(prepared: PreparedAppend): AppendResult {
    let result: AppendResult;
    try {
      result = appendImmediately(prepared);
    } catch (error) {
      throw storeBusy(error, file, busyTimeoutMs);
    }
    wroteToWal();
    if (result.written) notifyAppended();
    return result;
  }

  /** An autocommit append, its events through the write stages already. */
  async function appendWritten(
    streamId: string,
    events: readonly NewEvent[],
    appendOptions: AppendOptions | undefined,
  ): Promise<AppendResult> {
    if (groupCommit) {
      return groupCommit.append(streamId, events, appendOptions).catch((error: unknown) => {
        throw storeBusy(error, file, busyTimeoutMs);
      });
    }
    // Hooks may await, so they need the async transaction (and its mutex).
    if (hooks.length > 0) return runOnce((_tx, appendStaged) => appendStaged(streamId, events, appendOptions), 'full');
    const prepared = prepareAppend(streamId, events, appendOptions, limits, options.defaultMetadata);
    // The mutex is free unless a transaction is open or queued: then wait our turn. Read back
    // once committed: a failing read stage must not make it look unwritten (readCommitted).
    if (mutex.locked) return mutex.run(async () => pipeline.readCommitted(appendNow(prepared)));
    return pipeline.readCommitted(appendNow(prepared));
  }

  /**
   * close(): every append and transaction accepted before it commits (or fails) and answers
   * first, whatever it is still awaiting — its write stages, the writer, a retry's pause — and
   * so do transactions of other stores on the file queued for the writer; then the connections go.
   */
  async function closeWhenSettled(): Promise<void> {
    await settled();
    await groupCommit?.settled();
    await mutex.run(async () => {
      try {
        await groupCommit?.closeThread();
        if (!sharedConnection) readDb.close();
        db.close();
      } finally {
        writerLock.release();
      }
    });
  }

  const committedReads = createSqliteStreamReads(reads, assertOpen, pipeline);
  const logReads = createSqliteLogReads(readDb, reads, pipeline, assertOpen, whenReadable);
  const lifecycle = createSqliteStreamLifecycle(db);

  return {
    queries: {
      query: (text, params) => whenReadable('queries.query', () => readSql.query(text, params)),
    },
    readStream: (streamId, readOptions) => whenReadable('readStream', () => committedReads.readStream(streamId, readOptions)),
    streamExists: (streamId) => whenReadable('streamExists', () => committedReads.streamExists(streamId)),
    aggregateStream: (streamId, evolver, aggregateOptions) =>
      whenReadable('aggregateStream', () => committedReads.aggregateStream(streamId, evolver, aggregateOptions)),

    // Accepted when called: close() waits for it, write stages included (they may await).
    appendToStream: tracedAppend((streamId, events, appendOptions) =>
      accept(async () => {
        scope.assertOutside('appendToStream');
        const written = pipeline.write(events, streamId);
        return appendWritten(streamId, isPromiseLike(written) ? await written : written, appendOptions);
      }),
    ),

    readAll: logReads.readAll,
    readPage: logReads.readPage,
    headPosition: logReads.headPosition,

    transaction,

    onAppended(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    addAppendHook: (hook) => void hooks.push(hook),

    eventSchemas: createSqliteEventSchemaStore({
      readDb,
      inTransaction: (write) => transaction(async (tx) => write(tx.db)),
      // Checked when called, as the store's own reads are: the read connection may be closed later.
      whenReadable: async (operation, read) => {
        assertOpen();
        return whenReadable(operation, read);
      },
      clock,
      pipeline,
    }),
    // Through a write transaction: after every append queued before, under the write lock.
    tombstoneStream: (streamId) => transaction(async (tx) => lifecycle.tombstone(streamId, tx.clock.now().getTime())),
    truncateStream: (streamId, truncateOptions) => transaction(async () => lifecycle.truncate(streamId, truncateOptions)),

    walSize() {
      if (!walFile) return 0;
      try {
        return statSync(walFile).size;
      } catch {
        return 0; // no WAL file: nothing written since the last clean close
      }
    },

    isTransient: isTransientSqliteError,

    writerThread: () => groupCommit?.threadState() ?? 'off',

    close() {
      closed = true;
      clearTimeout(walTimer);
      closing ??= closeWhenSettled();
      return closing;
    },
  };
}
