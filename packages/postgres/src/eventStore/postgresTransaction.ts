import { type AppendHook, type AppendResult, type SqlTransaction, type StoreTransaction, ValidationError } from '@tidemark/core';
import type pg from 'pg';
import { type AppendSettings, appendEvents } from './appendEvents.js';
import { createPostgresSqlExecutor } from './postgresSqlExecutor.js';
import { createStreamReads } from './streamReads.js';

/**
 * The unit of work of the PostgreSQL store: appends, and any SQL through `sql` or `client`
 * (read models, outbox rows, checkpoints), commit or roll back together.
 */
export interface PostgresTransaction extends StoreTransaction, SqlTransaction {
  /** The pool client holding the transaction open; it goes back to the pool when the transaction ends. */
  readonly client: pg.PoolClient;
  /** The store's schema (unquoted): where its own tables live, e.g. the checkpoint store's. */
  readonly schema: string;
}

/** The transaction's state, driven by the store that opened it. */
export interface PostgresTransactionHandle {
  tx: PostgresTransaction;
  afterCommit: Array<() => void>;
  afterRollback: Array<() => void>;
  /** Highest position an append wrote (0 for none): readers get woken, and wait for it after commit. */
  readonly lastPosition: number;
  /** Makes every later call on the transaction throw: its client is back in the pool. */
  finish(): void;
}

export interface PostgresTransactionOptions {
  client: pg.PoolClient;
  settings: AppendSettings;
  hooks: readonly AppendHook<PostgresTransaction>[];
  /** False when the append is the transaction's only work: a failure rolls everything back anyway. */
  savepoints: boolean;
  assertStoreOpen(): void;
}

export function createPostgresTransaction(options: PostgresTransactionOptions): PostgresTransactionHandle {
  const { client, settings, hooks } = options;
  let finished = false;
  let lastPosition = 0;
  let savepointCounter = 0;

  const assertUsable = () => {
    options.assertStoreOpen();
    if (finished) throw new ValidationError('The transaction has already committed or rolled back');
  };

  const sql = createPostgresSqlExecutor(client, assertUsable);

  const reads = createStreamReads(
    () => {
      assertUsable();
      return client;
    },
    settings.quotedSchema,
    settings.statementName,
  );

  const tx: PostgresTransaction = {
    ...reads,
    client,
    schema: settings.schema,
    sql,
    async lockForSetup() {
      assertUsable();
      // Transaction-scoped: released at commit or rollback.
      await client.query(`SELECT pg_advisory_xact_lock(hashtext('tidemark:setup'))`);
    },
    async appendToStream(streamId, events, appendOptions): Promise<AppendResult> {
      assertUsable();
      if (hooks.length === 0) {
        // No hook can fail after the function returned, and the function reports conflicts as
        // statuses without raising, so the transaction stays usable without a savepoint.
        const result = await appendEvents(client, settings, streamId, events, appendOptions);
        if (result.written) lastPosition = Math.max(lastPosition, result.position);
        return result;
      }
      // A throwing hook must undo this append alone, as in the other stores.
      const savepoint = options.savepoints ? `tidemark_append_${++savepointCounter}` : undefined;
      if (savepoint) await client.query(`SAVEPOINT ${savepoint}`);
      let result: AppendResult;
      try {
        result = await appendEvents(client, settings, streamId, events, appendOptions);
        if (result.written) for (const hook of hooks) await hook(result.events, tx);
      } catch (error) {
        if (savepoint) await client.query(`ROLLBACK TO SAVEPOINT ${savepoint}`);
        throw error;
      }
      if (savepoint) await client.query(`RELEASE SAVEPOINT ${savepoint}`);
      if (result.written) lastPosition = Math.max(lastPosition, result.position);
      return result;
    },
    afterCommit: (callback) => {
      assertUsable();
      handle.afterCommit.push(callback);
    },
    afterRollback: (callback) => {
      assertUsable();
      handle.afterRollback.push(callback);
    },
  };

  const handle: PostgresTransactionHandle = {
    tx,
    afterCommit: [],
    afterRollback: [],
    get lastPosition() {
      return lastPosition;
    },
    finish() {
      finished = true;
    },
  };
  return handle;
}
