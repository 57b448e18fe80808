import {
  type AppendHook,
  type AppendLimits,
  type Clock,
  defaultAppendLimits,
  type EventMetadata,
  type EventStore,
  type RecordedEvent,
  resolveAllRange,
  systemClock,
  ValidationError,
} from '@tidemark/core';
import pg from 'pg';
import { measureVisibilityLag, type VisibilityLag } from '../monitoring/visibilityLag.js';
import { migrate } from '../schema/migrate.js';
import { assertValidSchemaName, notifyChannel, quoteIdentifier } from '../schema/schemaName.js';
import type { AppendSettings } from './appendEvents.js';
import { appendAutocommit } from './autocommitAppend.js';
import { createCommitNotifier } from './commitNotifier.js';
import { eventTypes, toRecordedEvent } from './eventRows.js';
import { createHorizonFollower } from './horizonFollower.js';
import { isTransientPostgresError } from './isTransientPostgresError.js';
import { createNotificationListener } from './notificationListener.js';
import { createPostgresTransaction, type PostgresTransaction } from './postgresTransaction.js';
import { readAllStatement } from './readAllStatement.js';
import { readableHorizonSql } from './readableHorizon.js';
import { createStreamReads } from './streamReads.js';

export interface PostgresEventStoreOptions {
  /** Connection string; the store then owns its pool and ends it on close. */
  url?: string;
  /** A pool of the caller's; the store uses it but leaves it open on close. */
  pool?: pg.Pool;
  /** Schema holding the store's tables: `^[a-z_][a-z0-9_]{0,62}$`. Default 'tidemark'. */
  schema?: string;
  limits?: Partial<AppendLimits>;
  /** Merged under every event's own metadata (service name and version, say). */
  defaultMetadata?: EventMetadata;
  clock?: Clock;
  /**
   * The interval at which tailing readers (the subscriptions layer) poll when no notification
   * arrives: notifications are a hint and can be lost while the LISTEN connection reconnects.
   */
  pollIntervalMs?: number;
  /** Size of the pool the store creates from `url`. Default 10. */
  poolSize?: number;
  /**
   * How long readAll and headPosition wait for this store's own committed appends to become
   * readable (see awaitOwnWrites) before answering without them. Default 5000.
   */
  readYourWritesTimeoutMs?: number;
  /**
   * Shortest interval between two NOTIFYs this store sends to wake other processes' readers
   * (see commitNotifier.ts): their wake-up latency against the server's extra work. Default 10.
   */
  notifyIntervalMs?: number;
}

export interface PostgresEventStore extends EventStore<PostgresTransaction> {
  readonly schema: string;
  readonly pool: pg.Pool;
  readonly pollIntervalMs: number;
  /** How far the readable horizon lags behind the committed log: export it as a metric. */
  visibilityLag(): Promise<VisibilityLag>;
}

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
  const poolSize = options.poolSize ?? 10;
  if (!Number.isSafeInteger(poolSize) || poolSize < 1)
    throw new ValidationError('poolSize must be a whole number ≥ 1', { field: 'poolSize' });
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  if (!(pollIntervalMs > 0)) throw new ValidationError('pollIntervalMs must be > 0', { field: 'pollIntervalMs' });

  const ownsPool = !options.pool;
  const pool = options.pool ?? new pg.Pool({ connectionString: options.url, max: poolSize });
  // An idle pooled connection that the server drops emits 'error' on the pool, which would
  // otherwise crash the process; the pool discards that client by itself.
  if (ownsPool) pool.on('error', () => {});
  try {
    await migrate(pool, schema);
  } catch (error) {
    if (ownsPool) await pool.end().catch(() => {});
    throw error;
  }

  const quotedSchema = quoteIdentifier(schema);
  const settings: AppendSettings = {
    schema,
    quotedSchema,
    statementName: `tidemark:${schema}`,
    limits: { ...defaultAppendLimits, ...options.limits },
    defaultMetadata: options.defaultMetadata,
    clock: options.clock ?? systemClock,
  };
  const hooks: AppendHook<PostgresTransaction>[] = [];
  const listeners = new Set<() => void>();
  let closed = false;
  /** Highest position this instance has committed, and the highest readable horizon it has seen. */
  let ownCommitted = 0;
  let seenHorizon = 0;
  const readYourWritesTimeoutMs = options.readYourWritesTimeoutMs ?? 5000;

  /**
   * Read-your-writes. The readable horizon is cluster-wide: ANY transaction holding an id
   * (in any database of the server) that started before our commit keeps our events
   * unreadable until it ends. Readers must respect that to never skip an event, but a caller
   * that has just appended expects readAll and headPosition to include its events, as in the
   * other stores. So wait (bounded) until the horizon passes what this instance committed;
   * on a quiet server this is one cheap query, and none once the horizon is known past it.
   */
  async function awaitOwnWrites(): Promise<void> {
    const target = ownCommitted;
    if (target === 0 || target < seenHorizon) return;
    const deadline = Date.now() + readYourWritesTimeoutMs;
    for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
      const result = await pool.query({
        name: `${settings.statementName}:horizon`,
        text: `SELECT ${readableHorizonSql} AS horizon`,
        types: eventTypes,
      });
      seenHorizon = Math.max(seenHorizon, result.rows[0].horizon as number);
      if (target < seenHorizon || Date.now() >= deadline || closed) return;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  const assertOpen = () => {
    if (closed) throw new ValidationError('The event store is closed');
  };
  const notifier = createCommitNotifier(pool, notifyChannel(schema), options.notifyIntervalMs ?? 10);
  /** After a commit of this instance: wake local listeners now, other processes through NOTIFY. */
  const committed = (position: number) => {
    ownCommitted = Math.max(ownCommitted, position);
    notifier.notify();
    wakeListeners();
  };
  const wakeListeners = () => {
    for (const listener of listeners) {
      try {
        listener();
      } catch {
        // A wake-up is a hint; one failing listener must not starve the others.
      }
    }
  };

  const notifications = createNotificationListener({
    connection: {
      ...(options.url ? { connectionString: options.url } : (pool.options as pg.ClientConfig)),
      application_name: `tidemark-listen:${schema}`.slice(0, 63),
    },
    channel: notifyChannel(schema),
    onNotify: () => {
      wakeListeners();
      horizon.notified();
    },
  });
  const horizon = createHorizonFollower(pool, quotedSchema, wakeListeners);

  const committedReads = createStreamReads(
    () => {
      assertOpen();
      return pool;
    },
    quotedSchema,
    settings.statementName,
  );

  async function runTransaction<T>(work: (tx: PostgresTransaction) => Promise<T>, savepoints: boolean): Promise<T> {
    assertOpen();
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
    } catch (error) {
      client.release(error as Error);
      throw error;
    }
    const handle = createPostgresTransaction({ client, settings, hooks, savepoints, assertStoreOpen: assertOpen });
    try {
      let result: T;
      try {
        result = await work(handle.tx);
        const commit = await client.query('COMMIT');
        // COMMIT of a transaction in which a statement failed (and was caught) answers ROLLBACK.
        if (commit.command !== 'COMMIT') throw new Error('The transaction was rolled back: a statement inside it failed earlier');
      } catch (error) {
        handle.finish();
        await client.query('ROLLBACK').catch((rollbackError: Error) => {
          broken = rollbackError;
        });
        for (const callback of handle.afterRollback) callback();
        throw error;
      }
      handle.finish();
      for (const callback of handle.afterCommit) callback();
      if (handle.lastPosition > 0) committed(handle.lastPosition);
      return result;
    } finally {
      client.release(broken);
    }
  }

  async function* readAll(readOptions?: Parameters<PostgresEventStore['readAll']>[0]): AsyncGenerator<RecordedEvent> {
    assertOpen();
    const range = resolveAllRange(readOptions);
    if (ownCommitted > range.after) await awaitOwnWrites();
    // An empty filter list matches nothing, as in the other stores.
    if (range.types?.length === 0 || range.categories?.length === 0) return;
    // Deduplicated: each value is its own index range scan, and a repeated one would deliver its events twice.
    const statement = readAllStatement(quotedSchema, settings.statementName, {
      types: range.types && [...new Set(range.types)],
      categories: range.categories && [...new Set(range.categories)],
    });
    let after = range.after;
    let remaining = range.limit;
    while (remaining > 0) {
      assertOpen();
      const batch = Math.min(range.batchSize, remaining);
      const result = await pool.query({
        name: statement.name,
        text: statement.text,
        values: statement.values(after, batch),
        rowMode: 'array',
        types: eventTypes,
      });
      for (const row of result.rows) {
        const event = toRecordedEvent(row);
        after = event.position;
        remaining--;
        yield event;
      }
      // A short batch: nothing more is readable now. Events committed later are for the next call.
      if (result.rows.length < batch) return;
    }
  }

  let closing: Promise<void> | undefined;

  return {
    schema,
    pool,
    pollIntervalMs,
    ...committedReads,
    async appendToStream(streamId, events, appendOptions) {
      assertOpen();
      if (hooks.length > 0) return runTransaction((tx) => tx.appendToStream(streamId, events, appendOptions), false);
      // Autocommit: one statement is the whole transaction, one round trip (see autocommitAppend.ts).
      const result = await appendAutocommit(pool, settings, streamId, events, appendOptions);
      if (result.written) committed(result.position);
      return result;
    },
    readAll,
    async headPosition() {
      assertOpen();
      await awaitOwnWrites();
      const result = await pool.query({
        name: `${settings.statementName}:head`,
        text: `SELECT coalesce(max(position), 0) AS head FROM ${quotedSchema}.events WHERE position < ${readableHorizonSql}`,
        types: eventTypes,
      });
      return result.rows[0].head as number;
    },
    transaction: (work) => runTransaction(work, true),
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
    isTransient: isTransientPostgresError,
    visibilityLag() {
      assertOpen();
      return measureVisibilityLag(pool, quotedSchema);
    },
    close() {
      closed = true;
      horizon.close();
      closing ??= (async () => {
        listeners.clear();
        await notifications.close();
        await notifier.close();
        if (ownsPool) await pool.end();
      })();
      return closing;
    },
  };
}
