import {
  type AppendHook,
  type AppendOptions,
  type AppendResult,
  assertAppendAllowed,
  type Clock,
  createAppendTurns,
  type EventPipeline,
  isPromiseLike,
  maxPosition,
  type NewEvent,
  type SqlExecutor,
  type SqlTransaction,
  type StoreTransaction,
  type TransactionDurability,
  TransactionLimitError,
  tracedAppend,
  ValidationError,
} from '@tidemark/core';
import type pg from 'pg';
import { type AppendSettings, appendEvents } from './appendEvents.js';
import { toTypedError, type WatchedClient } from './connectionErrors.js';
import { createPostgresSqlExecutor } from './postgresSqlExecutor.js';
import { createStatementQueue } from './statementQueue.js';
import { createStreamReads, type StreamReads } from './streamReads.js';

/**
 * The unit of work of the PostgreSQL store: appends, and any SQL through `sql` or `client`
 * (read models, outbox rows, checkpoints), commit or roll back together.
 */
export interface PostgresTransaction extends StoreTransaction, SqlTransaction {
  /**
   * The pool client holding the transaction open; it goes back to the pool when the transaction
   * ends. Its query() waits its turn behind the transaction's other statements, as they all do.
   */
  readonly client: pg.PoolClient;
  /** The store's schema (unquoted): where its own tables live, e.g. the checkpoint store's. */
  readonly schema: string;
}

/** The transaction's state, driven by the store that opened it. */
export interface PostgresTransactionHandle {
  tx: PostgresTransaction;
  afterCommit: Array<() => void>;
  afterRollback: Array<() => void>;
  /** Highest position an append wrote (0n for none): readers get woken, and wait for it after commit. */
  readonly lastPosition: bigint;
  /**
   * Resolves once no append the work left running is still in flight. Rejects when the
   * transaction must not commit: one of them failed (AppendTurns.idle), or an append without
   * hooks, written with no savepoint, failed to read its events back (with that failure).
   */
  idle(): Promise<void>;
  /**
   * Makes every later call on the transaction throw (its client goes back to the pool), and
   * resolves once the appends still running (failing at their next statement) and the statements
   * already issued have settled: COMMIT or ROLLBACK goes after them.
   */
  finish(): Promise<void>;
  /** The server's error that aborted the transaction, while it is aborted (StatementQueue.abortedBy). */
  abortedBy(): Error | undefined;
  /** Whether the transaction was opened on the server (StatementQueue.opened): nothing to commit or roll back if not. */
  opened(): boolean;
  /** tx.appendToStream for events already through the write stages (the store's own hooked appends). */
  appendStaged(streamId: string, events: readonly NewEvent[], appendOptions: AppendOptions | undefined): Promise<AppendResult>;
}

export interface PostgresTransactionOptions {
  client: pg.PoolClient;
  settings: AppendSettings;
  hooks: readonly AppendHook<PostgresTransaction>[];
  /** False when the append is the transaction's only work: a failure rolls everything back anyway. */
  savepoints: boolean;
  assertStoreOpen(): void;
  clock: Clock;
  /** Distinct streams one transaction may append to (each holds an advisory lock until commit). */
  maxStreamsPerTransaction: number;
  /** The transaction's connection, watched for its death (see watchClient). */
  connection: WatchedClient;
  /** 'relaxed': committed with synchronous_commit off, and appends refused. */
  durability: TransactionDurability;
  /** The store's stages: appends are written through them, their results read through them. */
  pipeline: EventPipeline;
  /** The statements that open the transaction, sent with its first statement (transactionOpeningQuery.ts). */
  opening: readonly string[];
}

export function createPostgresTransaction(options: PostgresTransactionOptions): PostgresTransactionHandle {
  const { client, settings, hooks, pipeline } = options;
  let finished = false;
  let lastPosition = 0n;
  let savepointCounter = 0;
  /** A plain append written in this transaction whose events could not be read back. */
  let unreadable: { error: unknown } | undefined;
  const lockedStreams = new Set<string>();

  /** A lost connection or an aborted transaction surfaces as a typed error from the operation itself. */
  const typed = async <R>(operation: Promise<R>): Promise<R> => {
    try {
      return await operation;
    } catch (error) {
      options.connection.check(error);
      throw toTypedError(error, options.connection.lost);
    }
  };

  /**
   * Each stream appended to holds an advisory lock until the transaction ends, in PostgreSQL's
   * shared lock table (max_locks_per_transaction × max_connections slots, 6,400 by default).
   * About 12,400 in one transaction exhaust it, failing this and every other session of the
   * cluster with "out of shared memory": refuse well before that, writing nothing more.
   */
  const reserveStreamLock = (streamId: string) => {
    if (lockedStreams.has(streamId)) return;
    if (lockedStreams.size >= options.maxStreamsPerTransaction) {
      throw new TransactionLimitError(
        `A transaction may append to at most ${options.maxStreamsPerTransaction} distinct streams (maxStreamsPerTransaction): split the work into several transactions`,
        { limit: options.maxStreamsPerTransaction, streamId },
      );
    }
    lockedStreams.add(streamId);
  };

  const assertUsable = () => {
    options.assertStoreOpen();
    if (finished) throw new ValidationError('The transaction has already committed or rolled back');
  };

  // A hooked append spans awaits (its hooks) between its savepoint and its release: hooked
  // appends called concurrently take turns, and statements issued meanwhile wait for the one in
  // flight (appendTurns.ts), or its rollback to the savepoint would undo them.
  const turns = createAppendTurns();
  // The one way to the client: every statement below, and tx.client's, goes through it.
  const statements = createStatementQueue(client, options.connection, assertUsable, turns, options.opening);
  const untypedSql = createPostgresSqlExecutor(statements);
  // A statement failing on a lost connection surfaces as ConnectionLostError, like the appends.
  const sql: SqlExecutor = {
    query: (text, params) => typed(untypedSql.query(text, params)),
    execute: (text, params) => typed(untypedSql.execute(text, params)),
  };

  const reads = createStreamReads(() => statements, settings.quotedSchema, settings.statementName, pipeline);
  const typedReads: StreamReads = {
    readStream: (streamId, readOptions) => typed(reads.readStream(streamId, readOptions)),
    streamExists: (streamId) => typed(reads.streamExists(streamId)),
    aggregateStream: (streamId, evolver, aggregateOptions) => typed(reads.aggregateStream(streamId, evolver, aggregateOptions)),
  };

  const tx: PostgresTransaction = {
    ...typedReads,
    client: statements.client,
    schema: settings.schema,
    sql,
    clock: options.clock,
    async lockForSetup() {
      assertUsable();
      // Transaction-scoped: released at commit or rollback.
      await typed(statements.query(`SELECT pg_advisory_xact_lock(hashtext('tidemark:setup'))`));
    },
    // The turn is taken before the write stages, which may await: hooked appends start in call order.
    appendToStream: tracedAppend((streamId, events, appendOptions) => asUnit(() => stageAndWrite(streamId, events, appendOptions))),
    afterCommit: (callback) => {
      assertUsable();
      handle.afterCommit.push(callback);
    },
    afterRollback: (callback) => {
      assertUsable();
      handle.afterRollback.push(callback);
    },
  };

  async function stageAndWrite(
    streamId: string,
    events: readonly NewEvent[],
    appendOptions: AppendOptions | undefined,
  ): Promise<AppendResult> {
    assertUsable();
    const written = pipeline.write(events, streamId);
    return writeStaged(streamId, isPromiseLike(written) ? await written : written, appendOptions);
  }

  async function writeStaged(
    streamId: string,
    events: readonly NewEvent[],
    appendOptions: AppendOptions | undefined,
  ): Promise<AppendResult> {
    assertUsable();
    assertAppendAllowed(options.durability);
    reserveStreamLock(streamId);
    if (hooks.length === 0) {
      // No hook can fail after the function returned, and the function reports conflicts as
      // statuses without raising, so the transaction stays usable without a savepoint.
      const result = await typed(appendEvents(statements, settings, streamId, events, appendOptions));
      if (result.written) lastPosition = maxPosition(lastPosition, result.position);
      try {
        return await pipeline.readResult(result);
      } catch (error) {
        // Its events are written and no savepoint can undo them: were the work to catch this
        // and go on, COMMIT would store an append its caller saw fail. The transaction cannot commit.
        unreadable ??= { error };
        throw error;
      }
    }
    // A throwing hook must undo this append alone, as in the other stores.
    const savepoint = options.savepoints ? `tidemark_append_${++savepointCounter}` : undefined;
    if (savepoint) await typed(statements.query(`SAVEPOINT ${savepoint}`));
    let result: AppendResult;
    try {
      result = await typed(appendEvents(statements, settings, streamId, events, appendOptions));
      if (result.written) {
        // Hooks and the caller see the events as readers will (decrypted, upcast).
        result = await pipeline.readResult(result);
        for (const hook of hooks) await hook(result.events, tx);
      }
    } catch (error) {
      if (savepoint) await typed(statements.query(`ROLLBACK TO SAVEPOINT ${savepoint}`));
      throw error;
    }
    if (savepoint) await typed(statements.query(`RELEASE SAVEPOINT ${savepoint}`));
    if (result.written) lastPosition = maxPosition(lastPosition, result.position);
    return result;
  }

  /**
   * A hooked append runs as a unit; one without hooks is one statement, which waits its turn like
   * any other, so it takes no turn: it is only tracked, for COMMIT to wait for it too.
   */
  function asUnit(append: () => Promise<AppendResult>): Promise<AppendResult> {
    return hooks.length === 0 ? turns.track(append) : turns.unit(append);
  }

  const handle: PostgresTransactionHandle = {
    appendStaged: (streamId, events, appendOptions) => asUnit(() => writeStaged(streamId, events, appendOptions)),
    tx,
    afterCommit: [],
    afterRollback: [],
    get lastPosition() {
      return lastPosition;
    },
    async idle() {
      await turns.idle();
      if (unreadable) throw unreadable.error;
    },
    async finish() {
      finished = true;
      // Their failures change nothing now: the transaction rolls back, or has settled them already.
      await turns.idle().catch(() => {});
      await statements.settled();
    },
    abortedBy: () => statements.abortedBy(),
    opened: () => statements.opened(),
  };
  return handle;
}
