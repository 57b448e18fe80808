import { randomUUID } from 'node:crypto';
import {
  type AppendHook,
  type AppendLimits,
  type Clock,
  CommitOutcomeUnknownError,
  createAcceptedCalls,
  createEventPipeline,
  createTransactionScope,
  type ErrorReporter,
  type EventMetadata,
  type EventStage,
  type EventStore,
  isPromiseLike,
  isTransientFailure,
  type LogPage,
  type ReadPageOptions,
  resolveAppendLimits,
  resolveDurability,
  resolveRetryOptions,
  retryUnitOfWork,
  runAfterCommit,
  type SqlQueries,
  systemClock,
  TidemarkError,
  type TransactionDurability,
  type TransactionOptions,
  tracedAppend,
  ValidationError,
  warnOnError,
} from '@tidemark/core';
import pg from 'pg';
import { measureVisibilityLag, type VisibilityLag } from '../monitoring/visibilityLag.js';
import { type MigrationReport, migrateWithReport } from '../schema/migrate.js';
import { assertValidSchemaName, notifyChannel, quoteIdentifier } from '../schema/schemaName.js';
import { reportSchemaRepairs } from '../schema/schemaRepairs.js';
import type { AppendSettings } from './appendEvents.js';
import { appendAutocommit } from './autocommitAppend.js';
import { beginReadCommitted } from './beginReadCommitted.js';
import { createCommitNotifier } from './commitNotifier.js';
import {
  endedIdle,
  isConnectionFailure,
  rethrowTyped,
  rethrowTypedFor,
  toAutocommitError,
  toTypedError,
  watchClient,
} from './connectionErrors.js';
import { createHorizonFollower } from './horizonFollower.js';
import { isTransientPostgresError } from './isTransientPostgresError.js';
import { keepClientErrors } from './keepClientErrors.js';
import { createNotificationListener } from './notificationListener.js';
import { createOwnWrites } from './ownWrites.js';
import { createPostgresEventSchemaStore } from './postgresEventSchemaStore.js';
import { createPostgresGroupCommit } from './postgresGroupCommit.js';
import { createPostgresLogReads } from './postgresLogReads.js';
import { tombstonePostgresStream, truncatePostgresStream } from './postgresStreamLifecycle.js';
import { createPostgresTransaction, type PostgresTransaction, type PostgresTransactionHandle } from './postgresTransaction.js';
import { queryPooled } from './queryPooled.js';
import { type SettingReader, withSettingValue } from './serverTimeoutErrors.js';
import { StallDetectingClient } from './stallDetectingClient.js';
import { statementPrefix } from './statementPrefix.js';
import { createStreamReads } from './streamReads.js';
import { timeoutNamingPool } from './timeoutNamingPool.js';
import { PostgresTransactionContext } from './transactionContext.js';
import { UnnamedStatementsClient } from './unnamedStatementsClient.js';

export interface PostgresEventStoreOptions {
  /** Connection string; the store then owns its pool and ends it on close. */
  url?: string;
  /** A pool of the caller's; the store uses it but leaves it open on close. */
  pool?: pg.Pool;
  /** Schema holding the store's tables: `^[a-z_][a-z0-9_]{0,62}$`. Default 'tidemark'. */
  schema?: string;
  /**
   * Create the store when the schema holds none. Default true for the default schema, false
   * for a named one: a mistyped schema name is refused (StoreNotFoundError) instead of
   * silently starting an empty store.
   */
  createSchema?: boolean;
  /**
   * Run the migrations a store behind this code needs (default true). False: run no DDL and
   * refuse a store that is behind (SchemaBehindError) — for a role without DDL rights; migrate
   * with `tidemark migrate` as the schema's owner.
   */
  migrate?: boolean;
  /**
   * False: send every statement unnamed, for PgBouncer in transaction mode, where a named
   * prepared statement lives on one server connection and collides on the next. Applies to
   * the pool the store creates from `url`; build a pool of your own with
   * `Client: UnnamedStatementsClient` for the same. Default true (statements are parsed and
   * planned once per connection).
   */
  preparedStatements?: boolean;
  /**
   * Connection string of the LISTEN connection through which other processes' appends wake this
   * store's readers. Default: `url` (or the pool's settings). Behind PgBouncer in transaction
   * mode LISTEN is accepted but never delivers — the pooler gives the session's server
   * connection to other clients after each statement and drops what arrives on it idle — so
   * readers see other processes' events only when they next poll: point this at the server
   * itself or at a session-mode pooler.
   */
  listenUrl?: string;
  limits?: Partial<AppendLimits>;
  /** Merged under every event's own metadata (service name and version, say). */
  defaultMetadata?: EventMetadata;
  clock?: Clock;
  /**
   * How long a caught-up reader of this store waits at most without a notification, for every
   * reader at once: notifications are a hint, lost while the LISTEN connection reconnects (and
   * never delivered through a transaction-mode pooler without `listenUrl`). The store itself does
   * not poll; subscribe, projectors and relays use it unless given their own `pollIntervalMs`.
   * Default: none, each keeps its own (1000 ms; 500 for relays).
   */
  pollIntervalMs?: number;
  /** Size of the pool the store creates from `url`. Default 10. */
  poolSize?: number;
  /**
   * How long readAll and headPosition wait for this store's own committed appends to become
   * readable (see ownWrites.ts) before answering without them. Default 5000.
   */
  readYourWritesTimeoutMs?: number;
  /**
   * Shortest interval between two NOTIFYs this store sends to wake other processes' readers
   * (see commitNotifier.ts): their wake-up latency against the server's extra work. Default 10.
   */
  notifyIntervalMs?: number;
  /**
   * Receives failures of afterCommit callbacks and onAppended listeners, and what the store
   * repaired in its schema as it opened (the repairs `tidemark migrate` reports: functions
   * re-created for a renamed schema, positions rebased, the outbox's sequence advanced — an Error
   * naming them, its context saying the schema was repaired). Default: a process warning (code
   * TIDEMARK_SCHEMA_REPAIRED for the repairs).
   */
  onError?: ErrorReporter;
  /**
   * Connections of the pool the store creates from `url` (and of its LISTEN connection): a
   * network path that silently dies must be noticed, not hang a projector forever. A statement
   * during which the server sends nothing for `queryTimeoutMs` fails with ConnectionLostError and
   * its connection is discarded (0 turns it off: then only keepalive notices a dead peer).
   * Defaults: connect 10 s, query 60 s, TCP keepalive on from 10 s of idleness.
   */
  connectionTimeoutMs?: number;
  queryTimeoutMs?: number;
  keepAlive?: boolean;
  keepAliveInitialDelayMs?: number;
  /**
   * Distinct streams one transaction may append to; past it the append fails with
   * TransactionLimitError. Each holds an advisory lock until commit in the server's shared lock
   * table (max_locks_per_transaction × max_connections = 6,400 slots by default; about 12,400
   * locks in one transaction fail it AND other sessions with "out of shared memory"). Keep
   * poolSize × this below the server's table. Default 1000.
   */
  maxStreamsPerTransaction?: number;
  /**
   * Group commit (default true): while a batch of autocommit appends is on the wire, further ones
   * queue and go together in one statement and one commit (postgresGroupCommit.ts). A lone append
   * is sent at once. false: one statement and commit per append.
   */
  groupCommit?: boolean;
  /** The event pipeline (upcasting and validation, then encryption): see EventStage. */
  stages?: readonly EventStage[];
}

/**
 * Group-commit batches on the wire at once. Two keep both CPUs of a 2-core server busy while
 * most concurrent appends still gather into few commits; 4 and 8 measured no better (issue 13,
 * BENCHMARKS.md).
 */
const groupCommitBatches = 2;

/** What opens a unit of work: READ COMMITTED always (beginReadCommitted.ts); a relaxed one commits without waiting for the flush. */
const fullOpening = [beginReadCommitted];
const relaxedOpening = [beginReadCommitted, 'SET LOCAL synchronous_commit = off'];

export interface PostgresEventStore extends EventStore<PostgresTransaction> {
  /** Always present here (optional on the port). */
  readPage(options: ReadPageOptions): Promise<LogPage>;
  /** Reads on committed data on the pool, each in a READ ONLY transaction rolled back after it: read models served outside any unit of work. */
  readonly queries: SqlQueries;
  readonly schema: string;
  readonly pool: pg.Pool;
  readonly pollIntervalMs: number | undefined;
  /** How far the readable horizon lags behind the committed log: export it as a metric. */
  visibilityLag(): Promise<VisibilityLag>;
}

/**
 * The connect and query timeouts and TCP keepalive the store gives the pool it creates. Spread
 * them into a pool of your own (`new pg.Pool({ ...postgresConnectionDefaults, … })`): without
 * them a network path that silently dies hangs its queries until the OS gives up, hours later.
 */
export const postgresConnectionDefaults = {
  connectionTimeoutMillis: 10_000,
  keepAlive: true,
  keepAliveInitialDelayMillis: 10_000,
  // Not pg's query_timeout, which costs every statement a timer holding its rows: see stallDetectingClient.ts.
  Client: StallDetectingClient,
  stallTimeoutMillis: 60_000,
} as const;

/**
 * The PostgreSQL event store. Migrates its schema on creation (hence async). Appends are one
 * round trip: a single INSERT statement in autocommit (autocommitAppend.ts), otherwise a call
 * of the append_to_stream function; the global order is gap-free for readers without a global lock
 * (see readableHorizon.ts); readers are woken by LISTEN/NOTIFY.
 */
export async function createPostgresEventStore(options: PostgresEventStoreOptions): Promise<PostgresEventStore> {
  const schema = options.schema ?? 'tidemark';
  assertValidSchemaName(schema);
  if (!options.pool && !options.url) throw new ValidationError('createPostgresEventStore needs a url or a pool', { field: 'url' });
  // pg refuses a Submittable, such as a fold's binary COPY (copyFoldQuery.ts), on a client in
  // pipeline mode: said here, rather than by the first aggregateStream.
  if ((options.pool?.options as { pipeline?: unknown } | undefined)?.pipeline) {
    throw new ValidationError("a pool in pg's pipeline mode is not supported: create it without `pipeline`", { field: 'pool' });
  }
  const poolSize = options.poolSize ?? 10;
  if (!Number.isSafeInteger(poolSize) || poolSize < 1)
    throw new ValidationError('poolSize must be a whole number ≥ 1', { field: 'poolSize' });
  const { pollIntervalMs } = options;
  if (pollIntervalMs !== undefined && !(Number.isSafeInteger(pollIntervalMs) && pollIntervalMs > 0 && pollIntervalMs <= 2 ** 31 - 1)) {
    throw new ValidationError('pollIntervalMs must be a whole number of ms from 1 to 2^31-1', { field: 'pollIntervalMs' });
  }

  if (options.listenUrl !== undefined && (typeof options.listenUrl !== 'string' || options.listenUrl === ''))
    throw new ValidationError('listenUrl must be a connection string', { field: 'listenUrl' });

  const maxStreamsPerTransaction = options.maxStreamsPerTransaction ?? 1000;
  if (!Number.isSafeInteger(maxStreamsPerTransaction) || maxStreamsPerTransaction < 1)
    throw new ValidationError('maxStreamsPerTransaction must be a whole number ≥ 1', { field: 'maxStreamsPerTransaction' });
  const connectionSettings = {
    connectionTimeoutMillis: options.connectionTimeoutMs ?? postgresConnectionDefaults.connectionTimeoutMillis,
    stallTimeoutMillis: options.queryTimeoutMs ?? postgresConnectionDefaults.stallTimeoutMillis,
    keepAlive: options.keepAlive ?? postgresConnectionDefaults.keepAlive,
    keepAliveInitialDelayMillis: options.keepAliveInitialDelayMs ?? postgresConnectionDefaults.keepAliveInitialDelayMillis,
  };
  for (const [field, value] of Object.entries({
    connectionTimeoutMs: connectionSettings.connectionTimeoutMillis,
    queryTimeoutMs: connectionSettings.stallTimeoutMillis,
    keepAliveInitialDelayMs: connectionSettings.keepAliveInitialDelayMillis,
  })) {
    if (!Number.isSafeInteger(value) || value < 0) throw new ValidationError(`${field} must be a whole number ≥ 0`, { field });
  }
  const onError = options.onError ?? warnOnError;

  const ownsPool = !options.pool;
  const pool =
    options.pool ??
    new pg.Pool({
      connectionString: options.url,
      max: poolSize,
      ...connectionSettings,
      Client: options.preparedStatements === false ? UnnamedStatementsClient : StallDetectingClient,
    });
  // An idle pooled connection that the server drops emits 'error' on the pool, which would
  // otherwise crash the process; the pool discards that client by itself.
  if (ownsPool) pool.on('error', () => {});
  // And every client keeps a listener of its own for life (keepClientErrors.ts).
  const releaseClientErrors = keepClientErrors(pool);
  let migrated: MigrationReport;
  try {
    migrated = await migrateWithReport(pool, schema, {
      createSchema: options.createSchema ?? options.schema === undefined,
      ...(options.migrate !== undefined && { migrate: options.migrate }),
    });
  } catch (error) {
    releaseClientErrors();
    if (ownsPool) await pool.end().catch(() => {});
    throw error;
  }
  // Committed already: told now, whatever happens to the rest of the opening.
  reportSchemaRepairs(schema, migrated, options.onError);

  const quotedSchema = quoteIdentifier(schema);
  const settings: AppendSettings = {
    schema,
    quotedSchema,
    statementName: statementPrefix(schema),
    limits: resolveAppendLimits(options.limits),
    defaultMetadata: options.defaultMetadata,
    clock: options.clock ?? systemClock,
  };
  const hooks: AppendHook<PostgresTransaction>[] = [];
  const pipeline = createEventPipeline(options.stages);
  // Here a store call inside a transaction would not hang — it would take another connection —
  // but it would run outside the unit of work, or wait for a stream lock the transaction holds:
  // refused as on the embedded stores, where it would wait forever.
  const scope = createTransactionScope();
  const listeners = new Set<() => void>();
  let closed = false;
  const assertOpen = () => {
    if (closed) throw new ValidationError('The event store is closed');
  };
  /** close() has let every accepted call settle and is ending the pool: nothing may use it now. */
  let ended = false;
  /**
   * Calls accepted and not settled yet: between its call and its end one may hold no connection
   * at all (an append in its write stages, a transaction between two attempts, a read waiting for
   * its own writes or a free connection) and still need the pool after; close() waits for them.
   */
  const { accept, track, settled } = createAcceptedCalls(assertOpen);
  /** Names this instance's NOTIFYs, so that its own listener can tell their echo from other processes' commits. */
  const instanceId = randomUUID();
  const notifier = createCommitNotifier(pool, notifyChannel(schema), options.notifyIntervalMs ?? 10, instanceId);
  /** After a commit of this instance: wake local listeners now, other processes through NOTIFY. */
  const committed = (position: bigint) => {
    ownWrites.committed(position);
    notifier.notify();
    wakeListeners();
  };
  // A wake-up is a hint; one failing listener must not starve the others.
  const wakeListeners = () => {
    ownWrites.woke();
    runAfterCommit([...listeners], onError, 'onAppended listener failed');
  };

  const groupCommit =
    options.groupCommit === false ? undefined : createPostgresGroupCommit({ pool, settings, maxInFlight: groupCommitBatches, committed });

  const notifications = createNotificationListener({
    connection: {
      ...(options.listenUrl || options.url
        ? { connectionString: options.listenUrl ?? options.url, ...connectionSettings }
        : (pool.options as pg.ClientConfig)),
      application_name: `tidemark-listen:${schema}`.slice(0, 63),
    },
    channel: notifyChannel(schema),
    ownPayload: instanceId,
    onNotify: () => {
      wakeListeners();
      horizon.notified();
    },
  });
  const horizon = createHorizonFollower(pool, quotedSchema, wakeListeners);
  const ownWrites = createOwnWrites({
    pool,
    quotedSchema,
    statementName: settings.statementName,
    timeoutMs: options.readYourWritesTimeoutMs ?? 5000,
    follow: () => horizon.notified(),
  });
  const logReads = createPostgresLogReads({
    pool,
    quotedSchema,
    statementName: settings.statementName,
    pipeline,
    ownWrites,
    assertOpen,
    accept,
    track,
  });

  // Committed reads straight on the pool: a statement_timeout they hit is named with its value.
  const poolReads = timeoutNamingPool(pool);
  const reads = createStreamReads(
    () => {
      assertOpen();
      return poolReads;
    },
    quotedSchema,
    settings.statementName,
    pipeline,
  );
  // Accepted: one waiting for a free connection when close() is called is still answered.
  const committedReads: typeof reads = {
    readStream: (streamId, readOptions) => accept(() => reads.readStream(streamId, readOptions).catch(rethrowTyped)),
    streamExists: (streamId) => accept(() => reads.streamExists(streamId).catch(rethrowTyped)),
    aggregateStream: (streamId, evolver, aggregateOptions) =>
      accept(() => reads.aggregateStream(streamId, evolver, aggregateOptions).catch(rethrowTyped)),
  };

  /**
   * One attempt of a unit of work. Every failure is typed: a connection lost before COMMIT was
   * sent is ConnectionLostError (the server rolled back; afterRollback runs), one lost while
   * COMMIT was in flight is CommitOutcomeUnknownError (it may have committed: neither
   * afterCommit nor afterRollback runs). Whatever happens, the client goes back to the pool,
   * destroyed when its connection is in doubt, and the process lives.
   */
  async function runTransaction<T>(
    work: (tx: PostgresTransaction, handle: PostgresTransactionHandle) => Promise<T>,
    savepoints: boolean,
    durability: TransactionDurability = 'full',
  ): Promise<T> {
    // Not assertOpen: its callers were accepted (accept) before any attempt, and close() waits for
    // them, so an attempt that starts once close() has begun (a hooked append out of its write
    // stages, a retry) still runs.
    scope.assertOutside('transaction');
    const client = await pool.connect().catch(rethrowTypedFor(pool));
    const watched = watchClient(client);
    const handle = createPostgresTransaction({
      client,
      settings,
      hooks,
      savepoints,
      // Its transaction was accepted: its statements run until it ends, even once close() has begun.
      assertStoreOpen: () => {
        if (ended) throw new ValidationError('The event store is closed');
      },
      clock: settings.clock,
      maxStreamsPerTransaction,
      connection: watched,
      durability,
      pipeline,
      // Sent with the first statement, not on its own: a round trip less (transactionOpeningQuery.ts).
      // SET LOCAL ends with the transaction, so the connection goes back to the pool unchanged.
      opening: durability === 'relaxed' ? relaxedOpening : fullOpening,
    });
    /**
     * The typed failure of a transaction that rolled back. A timeout set on the server
     * (statement_timeout, idle_in_transaction_session_timeout) is named with its value, read on
     * `reader`: the client itself once its transaction has ended, else the pool (same role,
     * same connection options).
     */
    const rolledBack = async (error: unknown, reader: SettingReader = pool): Promise<never> => {
      const typed = await withSettingValue(toTypedError(error, watched.lost), reader);
      runAfterCommit(handle.afterRollback, onError, 'afterRollback callback failed');
      throw typed;
    };
    let result: T;
    try {
      // The context names the transaction: the snapshot and key stores on this pool find it
      // (openTransactionOn) and read on its connection instead of taking a second one.
      result = await scope.run(async () => {
        const value = await work(handle.tx, handle);
        // Appends the work left running are part of it: COMMIT would take one half done (its
        // savepoint open, its hooks' statements refused), so it waits for them (appendTurns.ts).
        await handle.idle();
        return value;
      }, new PostgresTransactionContext(pool, handle.tx));
    } catch (error) {
      // Statements the work issued and left running or queued (a Promise.all that rejected at
      // its first failure) settle first: ROLLBACK cannot go while one of them is on the client.
      await handle.finish();
      watched.check(error);
      let broken = watched.lost;
      // Never opened on the server: nothing to roll back.
      if (!broken && handle.opened()) {
        await client.query('ROLLBACK').catch((rollbackError: Error) => {
          broken = rollbackError;
        });
      }
      if (broken) {
        // Back first: a pool of one would otherwise wait for it to read the setting.
        watched.release(broken);
        return rolledBack(error);
      }
      try {
        return await rolledBack(error, client);
      } finally {
        watched.release();
      }
    }
    // Statements the work issued without awaiting them are part of it: they run, in order, and
    // COMMIT goes after them. One issued once the work and its appends have settled is refused.
    await handle.finish();
    // The work swallowed the failure of its own statement on a dead connection: nothing committed.
    if (watched.lost) {
      watched.release();
      return rolledBack(watched.lost);
    }
    if (!handle.opened()) {
      // The work sent nothing: there is nothing on the server to commit.
      watched.release();
      runAfterCommit(handle.afterCommit, onError, 'afterCommit callback failed');
      return result;
    }
    let commit: pg.QueryResult;
    try {
      commit = await client.query('COMMIT');
    } catch (error) {
      watched.release(error as Error);
      // Ended by the server for idling before COMMIT reached it: rolled back, not in doubt.
      if (endedIdle(error) || endedIdle(watched.lost)) return rolledBack(error);
      if (watched.lost || isConnectionFailure(error)) {
        throw new CommitOutcomeUnknownError(
          'The connection was lost while COMMIT was in flight: the transaction may or may not have committed. Run it again only if it is idempotent (appends with supplied event ids are).',
          {},
          { cause: error },
        );
      }
      // COMMIT refused (a serialization failure, a deferred constraint): rolled back for sure.
      return rolledBack(error);
    }
    // COMMIT of a transaction in which a statement failed (and was caught, or was not awaited)
    // answers ROLLBACK: the failure is that statement's.
    if (commit.command !== 'COMMIT') {
      try {
        return await rolledBack(abortedError(handle.abortedBy()), client);
      } finally {
        watched.release();
      }
    }
    watched.release();
    runAfterCommit(handle.afterCommit, onError, 'afterCommit callback failed');
    if (handle.lastPosition > 0) committed(handle.lastPosition);
    return result;
  }

  function transaction<T>(work: (tx: PostgresTransaction) => Promise<T>, transactionOptions?: TransactionOptions): Promise<T> {
    // Accepted once, its retries included.
    return accept(async () => {
      const durability = resolveDurability(transactionOptions?.durability);
      if (!transactionOptions?.retry) return runTransaction(work, true, durability);
      const retry = resolveRetryOptions(transactionOptions.retry);
      return retryUnitOfWork(() => runTransaction(work, true, durability), retry);
    });
  }

  /** An autocommit append's failure typed (toAutocommitError), a server timeout named with its value (serverTimeoutErrors.ts). */
  const rejectAutocommit = async (error: unknown): Promise<never> => {
    throw await withSettingValue(toAutocommitError(error), pool);
  };

  /** A deadlock victim or a connection that failed before anything was sent: the append is safe to run again. */
  const appendRetry = resolveRetryOptions({ maxAttempts: 5 });

  let closing: Promise<void> | undefined;

  const store: PostgresEventStore = {
    schema,
    pool,
    pollIntervalMs,
    queries: {
      query<Row extends Record<string, unknown>>(text: string, params?: readonly unknown[]) {
        return accept(async () => {
          scope.assertOutside('queries.query');
          return queryPooled<Row>(pool, text, params);
        });
      },
    },
    ...committedReads,
    appendToStream: tracedAppend(async (streamId, input, appendOptions) => {
      assertOpen();
      scope.assertOutside('appendToStream');
      const written = pipeline.write(input, streamId);
      const events = isPromiseLike(written) ? await written : written;
      if (hooks.length > 0) {
        return retryUnitOfWork(
          () => runTransaction((_tx, handle) => handle.appendStaged(streamId, events, appendOptions), false),
          appendRetry,
          isTransientFailure,
        );
      }
      if (groupCommit) {
        const result = await retryUnitOfWork(
          () => groupCommit.append(streamId, events, appendOptions).catch(rejectAutocommit),
          appendRetry,
          isTransientFailure,
        );
        // Committed: a failing read stage must not make it look unwritten (readCommitted).
        return pipeline.readCommitted(result);
      }
      // Autocommit: one statement is the whole transaction, one round trip (see autocommitAppend.ts).
      const result = await retryUnitOfWork(
        () => appendAutocommit(pool, settings, streamId, events, appendOptions).catch(rejectAutocommit),
        appendRetry,
        isTransientFailure,
      );
      if (result.written) committed(result.position);
      return pipeline.readCommitted(result);
    }),
    readAll: logReads.readAll,
    readPage: logReads.readPage,
    headPosition: logReads.headPosition,
    transaction,
    onAppended(listener) {
      assertOpen();
      listeners.add(listener);
      void notifications.start();
      return () => {
        listeners.delete(listener);
      };
    },
    addAppendHook(hook) {
      hooks.push(hook);
    },
    eventSchemas: createPostgresEventSchemaStore({
      pool: () => {
        assertOpen();
        return pool;
      },
      quotedSchema,
      statementName: settings.statementName,
      transaction: (work) => transaction(work),
      clock: settings.clock,
      pipeline,
    }),
    tombstoneStream: (streamId) =>
      accept(() => runTransaction((tx) => tombstonePostgresStream(tx.client, schema, streamId, settings.clock.now()), false)),
    truncateStream: (streamId, truncateOptions) =>
      accept(() => runTransaction((tx) => truncatePostgresStream(tx.client, schema, streamId, truncateOptions), false)),
    isTransient: isTransientPostgresError,
    visibilityLag: () => accept(() => measureVisibilityLag(pool, quotedSchema).catch(rethrowTyped)),
    close() {
      closed = true;
      // Readers waiting for their own writes to become readable stop waiting (and are answered).
      horizon.close();
      ownWrites.close();
      closing ??= (async () => {
        // Calls accepted before close() still run to their end — appends in their write stages,
        // transactions and their retries, reads — and commit and answer.
        await settled();
        await groupCommit?.settled();
        ended = true;
        listeners.clear();
        await notifications.close();
        await notifier.close();
        releaseClientErrors();
        if (ownsPool) await pool.end();
      })();
      return closing;
    },
  };
  // Accepted when called (the literal above keeps its own check): close() waits for it, its
  // write stages, hooked transaction and retries included.
  const { appendToStream } = store;
  store.appendToStream = (streamId, events, appendOptions) => accept(() => appendToStream(streamId, events, appendOptions));
  return store;
}

/**
 * Why a transaction whose COMMIT answered ROLLBACK was rolled back. Typed as the statement's own
 * failure where it has a type: a serialization failure or deadlock the work caught stays a
 * TransactionConflictError, so that `retry` runs the unit of work again.
 */
function abortedError(cause: Error | undefined): unknown {
  const typed = cause === undefined ? undefined : toTypedError(cause);
  if (typed instanceof TidemarkError) return typed;
  const reason = cause === undefined ? '' : ` (${cause.message})`;
  return new Error(`The transaction was rolled back: a statement inside it failed earlier${reason}`, cause === undefined ? {} : { cause });
}
