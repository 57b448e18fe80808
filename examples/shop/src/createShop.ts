import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  type CheckpointStore,
  type ConsistencyMonitor,
  type CryptoShredding,
  createConsumerLagMonitor,
  createCryptoShredding,
  createOutboxRelay,
  createStateCache,
  type EventBrowser,
  type EventRegistry,
  type EventStore,
  type ExpirySweeper,
  type IdempotencyKeyStore,
  type Inbox,
  type Lease,
  type OutboxRelay,
  type Projector,
  projectorBatchMetrics,
  projectorRetryMetrics,
  redactDeadLetters,
  type SnapshotStore,
  type SqlQueries,
  type SqlTransaction,
  type StoreTransaction,
  snapshotsSettled,
  startExpirySweeper,
  type TableSwap,
  type Transport,
  type VisibilitySample,
} from '@tidemark/core';
import type { DashboardOptions } from '@tidemark/dashboard';
import {
  createPostgresCheckpointStore,
  createPostgresEventBrowser,
  createPostgresEventStore,
  createPostgresIdempotencyKeyStore,
  createPostgresInbox,
  createPostgresKeyStore,
  createPostgresLease,
  createPostgresSnapshotStore,
  createPostgresTableSwap,
  type PostgresTransaction,
  postgresConnectionDefaults,
} from '@tidemark/postgres';
import {
  createSqliteCheckpointStore,
  createSqliteEventBrowser,
  createSqliteEventStore,
  createSqliteIdempotencyKeyStore,
  createSqliteInbox,
  createSqliteKeyStore,
  createSqliteLease,
  createSqliteSnapshotStore,
  createSqliteTableSwap,
  type SqliteTransaction,
} from '@tidemark/sqlite';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import pg from 'pg';
import { shopPersonalData } from './bankAccounts/bankAccountPersonalData.js';
import type { ShopConfig } from './config.js';
import { buildShopApp } from './http/buildShopApp.js';
import type { ForgetCustomer } from './http/customerRoutes.js';
import { createFakeMailer, createQueuedMailer, mailboxOf, mailerName } from './messaging/fakeMailer.js';
import { BrokerUnavailableError, openShopBrokers } from './messaging/shopBrokers.js';
import { shopMessageMapper } from './messaging/shopMessageMapper.js';
import { createPrometheusMetrics, type PrometheusMetrics } from './monitoring/prometheusMetrics.js';
import { createShopMonitoring, type ShopMonitoring } from './monitoring/shopMonitoring.js';
import { createRedisAccountCache, type RedisAccountCache } from './readModels/redisAccountCache.js';
import { shopProjections } from './readModels/shopProjections.js';
import { createShopReadModels, type ShopReadModels } from './readModels/shopReadModels.js';
import { oneLine } from './shared/oneLine.js';
import { shopDeciders } from './shopDeciders.js';
import { createShopEventRegistry } from './shopEventRegistry.js';

type SqlTx = StoreTransaction & SqlTransaction;

export interface ShopOptions {
  config: Pick<ShopConfig, 'dataDir' | 'database' | 'redisUrl' | 'natsUrl' | 'rabbitmqUrl' | 'dashboardToken'> & {
    messagingPrefix?: string;
  };
  /** pino; silent when absent (tests). */
  logger?: FastifyBaseLogger;
  /** How long a read with `minPosition` waits for its projector before answering from the events. Default 2000 ms. */
  readYourWritesTimeoutMs?: number;
  /** Lag every interval, probe and consistency check every tenth. Default 15 s; 0 leaves it to /metrics scrapes. */
  monitoringIntervalMs?: number;
  /** Namespace of the Redis keys. Default 'shop:account:'. */
  redisPrefix?: string;
  /**
   * A broker (JetStream, RabbitMQ…) to publish the shop's integration messages to: a relay then
   * follows the event log and publishes `shop.account.opened` and `shop.order.placed`, one
   * active relay across instances (a lease). Absent: nothing leaves the process — the mailer
   * still reads the log durably either way.
   */
  transport?: Transport;
  /**
   * A work queue (RabbitMQ…) for the mail notifications: a relay publishes them and the mailer
   * consumes the queue through the inbox. Absent: the mailer reads the log in-process.
   */
  notifications?: Transport;
}

export interface Shop {
  app: FastifyInstance;
  store: EventStore<SqlTx> & { readonly queries: SqlQueries };
  readModels: ShopReadModels;
  monitoring: ShopMonitoring;
  metrics: PrometheusMetrics;
  accountCache?: RedisAccountCache;
  /** The fake mailer as the durable in-process consumer of the log; absent when it consumes a notifications queue. */
  mailer?: Projector;
  /** The relay to `transport` (or NATS_URL), when there is one. */
  relay?: OutboxRelay;
  /** The relay of the mail notifications to their queue (RABBITMQ_URL), when there is one. */
  notificationRelay?: OutboxRelay;
  /** Where the events live, for the start-up log line (no password). */
  location: string;
  /** Starts the projectors (and the monitoring timer). Call before listening. */
  start(): Promise<void>;
  /** Stops accepting requests, then the projectors, then closes the cache and the store. */
  close(): Promise<void>;
}

/** Thrown when the configured database cannot be opened: main.ts prints it as one line. */
export class ShopStartError extends Error {
  readonly setting: string;
  constructor(setting: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ShopStartError';
    this.setting = setting;
  }
}

/** A store with the checkpoint store of the same adapter: one transaction type for both. */
interface OpenedStore<Tx extends SqlTx> {
  store: EventStore<Tx> & { readonly queries: SqlQueries };
  checkpoints: CheckpointStore<Tx>;
  /** The dashboard's view of the log, and the swap its rebuilds use. */
  browser: EventBrowser;
  swap: TableSwap<Tx>;
  /** The same store's tables for Idempotency-Keys and the consumers' inbox: they commit with the events. */
  idempotencyKeys: IdempotencyKeyStore<Tx>;
  inbox: Inbox<Tx>;
  /** A lease row in the same database: one active relay across instances. */
  lease(name: string): Lease<Tx>;
  /** The bank accounts' snapshots, in the same database. */
  snapshots: SnapshotStore;
  /** PostgreSQL: keyed commands at once, fewer than the pool's connections (see ShopAppOptions). */
  maxIdempotentTransactions?: number;
  location: string;
  /** Crypto-shredding of the owners' personal data, with its key store in the same database. */
  privacy: CryptoShredding;
  /** After a customer is forgotten and the read models erased it: SQLite truncates its WAL (their old pages). */
  compact?: () => Promise<unknown>;
  /** PostgreSQL: events committed but not yet readable (a long transaction holds the horizon). */
  visibility?: () => Promise<VisibilitySample>;
  close(): Promise<void>;
}

async function openStore(
  config: ShopOptions['config'],
  registry: EventRegistry,
): Promise<OpenedStore<PostgresTransaction> | OpenedStore<SqliteTransaction>> {
  if (config.database) {
    const { url, schema } = config.database;
    const where = new URL(url);
    const location = `postgres://${where.host}${where.pathname} schema ${schema}`;
    // Read-model tables are unqualified SQL: the pool's search_path puts them beside the
    // events, in the store's schema (tidemark's own tables are always schema-qualified).
    const poolSize = 10;
    const pool = new pg.Pool({ connectionString: url, max: poolSize, ...postgresConnectionDefaults, options: `-c search_path=${schema}` });
    pool.on('error', () => {}); // an idle client losing its server: the next query reports it
    const keyStore = createPostgresKeyStore({ pool, schema });
    const privacy = createCryptoShredding({ keyStore, personalData: shopPersonalData });
    try {
      // Validated and upcast by the registry, then encrypted: on read, decrypted, then upcast.
      const store = await createPostgresEventStore({ pool, schema, createSchema: true, stages: [registry.stage, privacy.stage] });
      privacy.attachStore(store);
      // Events committed behind a long transaction are lag too, and the horizon's age is the alarm.
      const visibility = () => store.visibilityLag();
      return {
        store,
        checkpoints: createPostgresCheckpointStore(),
        browser: createPostgresEventBrowser(store, { stages: [registry.stage, privacy.stage] }),
        swap: createPostgresTableSwap(),
        idempotencyKeys: createPostgresIdempotencyKeyStore(),
        inbox: createPostgresInbox(),
        lease: (name) => createPostgresLease({ url, schema, name }),
        snapshots: createPostgresSnapshotStore({ store }),
        // Half the pool: the rest serves their snapshot and key reads, the queries and the projectors.
        maxIdempotentTransactions: poolSize / 2,
        location,
        privacy,
        visibility,
        close: () => pool.end(),
      };
    } catch (error) {
      await pool.end().catch(() => {});
      throw new ShopStartError('DATABASE_URL', `Cannot open DATABASE_URL (${location}): ${oneLine(error)}`, { cause: error });
    }
  }
  const dataDir = resolve(config.dataDir);
  const file = join(dataDir, 'shop.db');
  try {
    mkdirSync(dataDir, { recursive: true });
    const keyStore = createSqliteKeyStore({ file });
    const privacy = createCryptoShredding({ keyStore, personalData: shopPersonalData });
    let store: ReturnType<typeof createSqliteEventStore>;
    try {
      // Validated and upcast by the registry, then encrypted: on read, decrypted, then upcast.
      // Its batches on a writer thread: the event loop serves HTTP and the projectors meanwhile.
      store = createSqliteEventStore({ file, stages: [registry.stage, privacy.stage], writerThread: 'auto' });
    } catch (error) {
      keyStore.close();
      throw error;
    }
    privacy.attachStore(store);
    return {
      store,
      checkpoints: createSqliteCheckpointStore(),
      browser: createSqliteEventBrowser(store, { stages: [registry.stage, privacy.stage] }),
      swap: createSqliteTableSwap(),
      idempotencyKeys: createSqliteIdempotencyKeyStore(),
      inbox: createSqliteInbox(),
      lease: (name) => createSqliteLease({ file, name }),
      snapshots: createSqliteSnapshotStore({ store }),
      location: file,
      privacy,
      compact: () => keyStore.checkpointWal(),
      close: async () => keyStore.close(),
    };
  } catch (error) {
    throw new ShopStartError('DATA_DIR', `Invalid DATA_DIR ${JSON.stringify(config.dataDir)}: cannot open ${file}: ${oneLine(error)}`);
  }
}

/**
 * Forgetting a customer in the shop: the key goes (the events' owner name and e-mail read as
 * redacted from then on), and the copies follow — the accounts' cached decider states, their
 * snapshots and the dead letters here, the read models and the mails when their consumers reach the
 * `privacy.subject.forgotten` event (waited for, so that the answer can say they did), the
 * Redis entries with the balance projection's batch. Then SQLite's WAL is truncated, so the
 * erased rows' old pages leave the disk.
 */
function forgetting(opened: OpenedStore<SqlTx>, readModels: ShopReadModels, mailer: Projector | undefined, timeoutMs: number) {
  const { store, privacy } = opened;
  const checkpoints = opened.checkpoints;
  const accountStates = createStateCache();
  privacy.onForgotten(({ streamIds }) => accountStates.deleteStreams(streamIds));
  // Snapshots hold decrypted states: a forgotten customer's accounts start again from their events.
  privacy.onForgotten(async ({ streamIds }) => {
    for (const streamId of streamIds) await opened.snapshots.deleteStream(streamId);
  });
  privacy.onForgotten(async (forgotten) => {
    await store.transaction((tx) => redactDeadLetters(checkpoints, tx, forgotten, privacy));
  });
  const forget: ForgetCustomer = async (customerId) => {
    const result = await privacy.forget(customerId);
    const position = result.position ?? (await store.headPosition());
    const reached = await Promise.all([
      readModels.waitForPosition(position, timeoutMs),
      mailer ? mailer.waitForPosition(position, { timeoutMs }) : true,
    ]);
    await opened.compact?.();
    return { ...result, readModelsUpToDate: reached.every(Boolean) };
  };
  return { forget, accountStates };
}

/**
 * The whole shop from its configuration: the event store (SQLite file, or PostgreSQL with
 * DATABASE_URL), the command side, the three asynchronous read models with their projectors,
 * an optional Redis cache-aside for account balances (REDIS_URL), monitoring and the HTTP API.
 * main.ts runs it; the tests build the very same thing.
 */
export async function createShop(options: ShopOptions): Promise<Shop> {
  const { config, logger } = options;
  const brokers = await openShopBrokers({
    ...(config.natsUrl && !options.transport && { natsUrl: config.natsUrl }),
    ...(config.rabbitmqUrl && !options.notifications && { rabbitmqUrl: config.rabbitmqUrl }),
    prefix: config.messagingPrefix ?? 'shop',
  }).catch((error: unknown) => {
    throw error instanceof BrokerUnavailableError ? new ShopStartError(error.setting, error.message) : error;
  });
  const integration = options.transport ?? brokers.integration;
  const notifications = options.notifications ?? brokers.notifications;
  const registry = createShopEventRegistry();
  const opened = await openStore(config, registry).catch(async (error: unknown) => {
    await brokers.close();
    throw error;
  });
  // Records the event versions with the events; refuses to start on a version that cannot read the stored ones.
  await registry.registerWith(opened.store).catch(async (error: unknown) => {
    await opened.store.close();
    await opened.close();
    await brokers.close();
    throw error;
  });
  const { store, checkpoints } = opened;
  const metrics = createPrometheusMetrics();
  const readYourWritesTimeoutMs = options.readYourWritesTimeoutMs ?? 2000;
  const accountCache =
    config.redisUrl === undefined
      ? undefined
      : createRedisAccountCache({
          url: config.redisUrl,
          ...(options.redisPrefix && { prefix: options.redisPrefix }),
          // A failing cache is bypassed, not fatal: the reads go to the read model.
          onCacheError: (error, operation, key) => logger?.warn({ err: error, operation, key }, 'account cache bypassed'),
        });
  const readModels = createShopReadModels({
    store,
    checkpoints,
    readYourWritesTimeoutMs,
    onBatch: projectorBatchMetrics(metrics),
    onRetry: projectorRetryMetrics(metrics),
    ...(accountCache && { accountCache: accountCache.accountCache }),
  });
  const inbox = opened.inbox as Inbox<SqlTx>;
  // The relays follow the log from their checkpoints, one active instance each (a lease).
  const relayTo = (name: string, transport: Transport) =>
    createOutboxRelay<SqlTx>({
      name,
      store,
      transport,
      source: { kind: 'log', checkpoints, mapper: shopMessageMapper },
      lease: opened.lease(name) as Lease<SqlTx>,
      metrics,
      onError: (error) => logger?.warn({ err: error, relay: name }, 'relay retrying'),
    });
  const relay = integration && relayTo('shop.integration', integration);
  const notificationRelay = notifications && relayTo('shop.notifications', notifications);
  const mailer = notifications ? undefined : createFakeMailer({ store, checkpoints, inbox });
  const queuedMailer = notifications && createQueuedMailer({ store, inbox, transport: notifications });
  const relays = [relay, notificationRelay].filter((r): r is OutboxRelay => r !== undefined);
  const monitoring = createShopMonitoring({
    store,
    // The mailer's lag is watched like a read model's: it is a consumer behind the log.
    readModels: {
      projectors: mailer ? [...readModels.projectors, mailer] : readModels.projectors,
      waitForPosition: readModels.waitForPosition,
    },
    metrics,
    ...('visibility' in opened && { visibility: opened.visibility }),
    snapshots: opened.snapshots,
    onAlert: (alert) => logger?.warn({ alert }, `alert: ${alert.message}`),
  });
  // The mailer's queue: its backlog on the broker, beside the read models' lag.
  const consumerLag = notifications && createConsumerLagMonitor({ metrics, consumers: [{ transport: notifications, group: mailerName }] });
  const forget = forgetting(opened, readModels, mailer, readYourWritesTimeoutMs);
  const app = buildShopApp({
    store,
    ...(logger && { logger }),
    readSide: { readModels, lag: monitoring.lag, readYourWritesTimeoutMs, consumers: mailer ? [mailer] : [], relays },
    metrics: {
      registry: metrics.registry,
      beforeScrape: () => Promise.all([monitoring.lag.measure(), consumerLag?.measure()]),
    },
    idempotencyKeys: opened.idempotencyKeys as IdempotencyKeyStore,
    ...(opened.maxIdempotentTransactions !== undefined && { maxIdempotentTransactions: opened.maxIdempotentTransactions }),
    mailbox: (recipient) => mailboxOf(store, recipient),
    snapshots: opened.snapshots,
    privacy: {
      forget: forget.forget,
      prepareSubject: async (subjectId) => void (await opened.privacy.ensureKeys([subjectId])),
      accountStates: forget.accountStates,
    },
    dashboard: {
      store,
      browser: opened.browser,
      checkpoints,
      projectors: readModels.projectors,
      projections: shopProjections,
      swap: opened.swap as TableSwap<SqlTx>,
      consumers: mailer ? [mailer] : [],
      relays,
      deciders: shopDeciders,
      consistency: [monitoring.accounts as ConsistencyMonitor<unknown>],
      ...(config.dashboardToken && { token: config.dashboardToken }),
      title: 'tidemark shop',
    } as DashboardOptions<StoreTransaction>,
  });

  // Old idempotency keys and inbox records are swept on a timer: a client retries within a day,
  // and no redelivery of the log consumers comes a week late.
  let sweepers: ExpirySweeper[] = [];
  const day = 24 * 60 * 60 * 1000;
  let stopMonitoring = async () => {};
  let closed: Promise<void> | undefined;
  return {
    app,
    store,
    readModels,
    monitoring,
    metrics,
    ...(accountCache && { accountCache }),
    ...(mailer && { mailer }),
    ...(relay && { relay }),
    ...(notificationRelay && { notificationRelay }),
    location: opened.location,
    async start() {
      await readModels.start();
      await mailer?.start();
      await queuedMailer?.start();
      for (const running of relays) await running.start();
      const onError = (error: unknown) => logger?.warn({ err: error }, 'expiry sweep failed');
      const keys = opened.idempotencyKeys as IdempotencyKeyStore<SqlTx>;
      sweepers = [
        startExpirySweeper<SqlTx>({ store, windowMs: day, expire: (tx, before, limit) => keys.expire(tx, before, limit), onError }),
        startExpirySweeper<SqlTx>({ store, windowMs: 7 * day, expire: (tx, before, limit) => inbox.expire(tx, before, limit), onError }),
      ];
      const interval = options.monitoringIntervalMs ?? 15_000;
      if (interval > 0) stopMonitoring = monitoring.start(interval);
    },
    close() {
      // Once: a second signal or a test's cleanup after main's must not close things twice.
      closed ??= (async () => {
        await app.close(); // in-flight requests finish first…
        // A monitoring round in flight still reads the store: it finishes (its waits for the
        // projectors end when they stop) before the store closes.
        const monitoringStopped = stopMonitoring();
        for (const sweeper of sweepers) sweeper.stop();
        for (const running of relays) await running.stop();
        await queuedMailer?.stop();
        await mailer?.stop();
        await readModels.stop(); // …then the projectors, after their transaction in flight…
        await accountCache?.close();
        await snapshotsSettled(opened.snapshots); // snapshots being written still reach the store
        await monitoringStopped;
        await store.close(); // …and only then the database they all write to.
        await opened.close();
        await brokers.close();
      })();
      return closed;
    },
  };
}
