import {
  type BatchInfo,
  type CheckpointStore,
  createFallbackReadRepository,
  createProjector,
  type EventStore,
  type FallbackReadRepository,
  type Projection,
  type Projector,
  type RetryInfo,
  type SqlQueries,
  type SqlTransaction,
  type StoreTransaction,
} from '@tidemark/core';
import { bankAccountStreamId } from '../bankAccounts/bankAccountCommands.js';
import { bankAccountDecider } from '../bankAccounts/bankAccountDecider.js';
import { orderStreamId } from '../orders/orderCommands.js';
import { orderDecider, orderItemCount, orderTotal } from '../orders/orderDecider.js';
import { accountBalanceProjection, findAccountBalance } from './accountBalanceProjection.js';
import { type DailyOrderStats, dailyOrderStats, dailyOrderStatsProjection } from './dailyOrderStatsProjection.js';
import { findOrderListRow, listCustomerOrders, type OrderListRow, orderListProjection } from './orderListProjection.js';

type SqlTx = StoreTransaction & SqlTransaction;

/** One order as the API shows it: the same shape whether it came from the read model or the events. */
export interface OrderView {
  orderId: string;
  customerId: string;
  status: 'draft' | 'placed' | 'cancelled';
  itemCount: number;
  total: number;
}

export interface AccountView {
  accountId: string;
  owner: string;
  balance: number;
  status: 'open' | 'closed';
  version: number;
}

/**
 * An account view with the balance projector's checkpoint at the time it was read: every event
 * at or below `checkpoint` is in it. A cached copy older than a caller's own write is not
 * served to that caller, whether or not its invalidation has landed yet.
 */
export interface StampedAccountView {
  view: AccountView;
  checkpoint: bigint;
}

/** A cache in front of the account view (Redis cache-aside in the shop, see redisAccountCache.ts). */
export interface AccountViewCache {
  /** The cached read: from the cache, or from `load` (the read model) on a miss. */
  get(accountId: string): Promise<StampedAccountView | undefined>;
  /** The balance projection as the projector should run it: dropping the entries each batch changed once it commits. */
  projection(projection: Projection<SqlTx>): Projection<SqlTx>;
}

export interface ShopReadModelsOptions {
  /** `queries` serves the read models outside any transaction (on SQLite, beside the one writer). */
  store: EventStore<SqlTx> & { readonly queries: SqlQueries };
  checkpoints: CheckpointStore<SqlTx>;
  /** How long a read-your-writes query waits for the read model before folding the events. Default 1000 ms. */
  readYourWritesTimeoutMs?: number;
  /** Per committed batch of any projector: for metrics. */
  onBatch?: (info: BatchInfo) => void;
  /** Called before each infrastructure retry of a projector (metrics). */
  onRetry?: (info: RetryInfo) => void;
  /** Puts a cache in front of account reads; given the read-model loader the cache fills from. */
  accountCache?: (load: (accountId: string) => Promise<StampedAccountView | undefined>) => AccountViewCache;
}

export interface ShopReadModels {
  readonly projectors: readonly Projector[];
  start(): Promise<void>;
  stop(): Promise<void>;
  /** An order, at least as new as `minPosition` (a command's position) when given. */
  orders: FallbackReadRepository<OrderView>;
  accounts: FallbackReadRepository<AccountView>;
  /** A customer's orders, newest first. Eventually consistent: wait with `waitForPosition` to read a write. */
  customerOrders(customerId: string, page?: { page?: number; pageSize?: number }): Promise<OrderListRow[]>;
  dailyStats(from: string, to: string): Promise<DailyOrderStats[]>;
  /** True once every shop projector has passed `position`. */
  waitForPosition(position: bigint, timeoutMs: number): Promise<boolean>;
}

/**
 * The shop's read side, ready to wire into the HTTP API: three asynchronous projectors over
 * the same events and fallback repositories that answer from the read model, or from the
 * events when the read model is behind the caller's own write (seed 001).
 */
export function createShopReadModels(options: ShopReadModelsOptions): ShopReadModels {
  const { store, checkpoints } = options;
  // One event that a projection cannot apply (written by an older server, another writer, a
  // migration) must not stop a read model for every customer: after its retries it is parked in
  // the dead-letter table, beside the checkpoint that moves past it, and the projector goes on.
  const make = (projection: Projection<SqlTx>) =>
    createProjector({
      store,
      projection,
      checkpoints,
      onFailure: 'dead-letter',
      // The read models are recomputed from the log: a batch lost in an OS or server crash is
      // lost with its checkpoint and applied again. Not flushing each batch leaves the one
      // SQLite writer (and PostgreSQL's WAL flush) to the appends.
      durability: 'relaxed',
      // Under load a projector reads (and commits a batch) at most every 10 ms, not 5: fewer,
      // larger batches leave the one writer to the commands. 20 ms gave 14% more deposits/s at
      // 64 connections on SQLite, but at a steady 1,000 commands/s it tripled the read models'
      // lag p50 (3 → 10.5 ms) and its command p99 was no better; 10 ms keeps that p99 and
      // costs 2.5 ms of lag (BENCHMARKS.md). An idle log is still read at the first wake-up.
      minReadIntervalMs: 10,
      ...(options.onBatch && { onBatch: options.onBatch }),
      ...(options.onRetry && { onRetry: options.onRetry }),
    });
  const read = <T>(work: (sql: SqlQueries) => Promise<T>) => work(store.queries);
  const loadAccount = async (accountId: string): Promise<StampedAccountView | undefined> => {
    // The checkpoint is taken before the row is read, and only moves after a batch commits: the
    // row holds at least every event up to it.
    const checkpoint = balances.status().checkpoint;
    const row = await read((sql) => findAccountBalance(sql, accountId));
    return row && { view: { accountId, owner: row.owner, balance: row.balance, status: row.status, version: row.version }, checkpoint };
  };
  const accountCache = options.accountCache?.(loadAccount);
  const orderList = make(orderListProjection);
  const stats = make(dailyOrderStatsProjection);
  const balances = make(accountCache ? accountCache.projection(accountBalanceProjection) : accountBalanceProjection);
  const projectors = [orderList, stats, balances];
  const timeoutMs = options.readYourWritesTimeoutMs ?? 1000;
  /** The account row, from the cache when it has one at least as new as the caller's write. */
  const queryAccount = async (accountId: string, minPosition: bigint): Promise<AccountView | undefined> => {
    const cached = accountCache && (await accountCache.get(accountId));
    if (cached && cached.checkpoint >= minPosition) return cached.view;
    return (await loadAccount(accountId))?.view;
  };
  // The repository's query has no minPosition parameter; one repository per read is a closure, not a cost.
  const accountsAsOf = (minPosition: bigint) =>
    createFallbackReadRepository<AccountView, ReturnType<typeof bankAccountDecider.initialState>>({
      store,
      evolver: bankAccountDecider,
      streamId: bankAccountStreamId,
      timeoutMs,
      waitForPosition: (position, ms) => balances.waitForPosition(position, { timeoutMs: ms }),
      query: (accountId) => queryAccount(accountId, minPosition),
      fromState: (accountId, { state, version }) =>
        state.status === 'none' ? undefined : { accountId, owner: state.owner, balance: state.balance, status: state.status, version },
    });

  return {
    projectors,
    async start() {
      for (const projector of projectors) await projector.start();
    },
    async stop() {
      await Promise.all(projectors.map((projector) => projector.stop()));
    },
    orders: createFallbackReadRepository<OrderView, ReturnType<typeof orderDecider.initialState>>({
      store,
      evolver: orderDecider,
      streamId: orderStreamId,
      timeoutMs,
      waitForPosition: (position, ms) => orderList.waitForPosition(position, { timeoutMs: ms }),
      async query(orderId) {
        const row = await read((sql) => findOrderListRow(sql, orderId));
        return row && { orderId, customerId: row.customerId, status: row.status, itemCount: row.itemCount, total: row.total };
      },
      fromState: (orderId, { state }) =>
        state.status === 'none'
          ? undefined
          : {
              orderId,
              customerId: state.customerId,
              status: state.status,
              itemCount: orderItemCount(state.lines),
              total: orderTotal(state.lines),
            },
    }),
    accounts: { get: (accountId, getOptions) => accountsAsOf(getOptions?.minPosition ?? 0n).get(accountId, getOptions) },
    customerOrders: (customerId, page) => read((sql) => listCustomerOrders(sql, customerId, page)),
    dailyStats: (from, to) => read((sql) => dailyOrderStats(sql, from, to)),
    async waitForPosition(position, ms) {
      const reached = await Promise.all(projectors.map((projector) => projector.waitForPosition(position, { timeoutMs: ms })));
      return reached.every(Boolean);
    },
  };
}
