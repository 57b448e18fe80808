import {
  type AlertHandler,
  type ConsistencyMonitor,
  createConsistencyMonitor,
  createLagProbe,
  createProjectionLagMonitor,
  type EventStore,
  expectedFromEvents,
  type LagProbe,
  type Metrics,
  monitoredProjector,
  type ProjectionLagMonitor,
  type SnapshotStore,
  type SqlTransaction,
  type StoreTransaction,
  type VisibilitySample,
} from '@tidemark/core';
import { bankAccountStreamId } from '../bankAccounts/bankAccountCommands.js';
import { bankAccountDecider } from '../bankAccounts/bankAccountDecider.js';
import { bankAccountSnapshots } from '../bankAccounts/bankAccountMessages.js';
import { findAccountBalance } from '../readModels/accountBalanceProjection.js';
import { shopProjections } from '../readModels/shopProjections.js';
import type { ShopReadModels } from '../readModels/shopReadModels.js';

type SqlTx = StoreTransaction & SqlTransaction;

/** What the consistency check compares for an account: the columns both sides can produce. */
export interface AccountCheckRow {
  owner: string;
  balance: number;
  status: 'open' | 'closed';
  version: number;
}

export interface ShopMonitoringOptions {
  store: EventStore<SqlTx>;
  readModels: Pick<ShopReadModels, 'projectors' | 'waitForPosition'>;
  metrics: Metrics;
  onAlert: AlertHandler;
  /** PostgreSQL: the store's `visibilityLag()`, so that lag counts committed-but-unreadable events and a held-back horizon alerts. */
  visibility?: () => Promise<VisibilitySample>;
  /** Accounts compared per consistency check. Default 100. */
  sampleSize?: number;
  /**
   * The bank accounts' snapshot store (the one their commands use): each compared account is
   * folded from its latest snapshot instead of its first event. Without it, from the first event.
   */
  snapshots?: SnapshotStore;
}

export interface ShopMonitoring {
  lag: ProjectionLagMonitor;
  accounts: ConsistencyMonitor<AccountCheckRow>;
  probe: LagProbe;
  /**
   * Lag every `intervalMs`, the probe and the consistency check every tenth time. Returns stop,
   * which resolves once a round in flight has finished: the store must outlive it.
   */
  start(intervalMs: number): () => Promise<void>;
}

/**
 * The monitoring of seed 001 and 004 wired to the shop: projection lag per read model, a
 * replication-lag probe through every projector, and a consistency check of account balances
 * against the events. Everything reports through the Metrics port (prom-client in production:
 * serve `createPrometheusMetrics().registry` at /metrics) and alerts through one callback.
 */
export function createShopMonitoring(options: ShopMonitoringOptions): ShopMonitoring {
  const { store, readModels, metrics, onAlert } = options;
  const projectors = readModels.projectors;
  const lag = createProjectionLagMonitor({
    store,
    metrics,
    onAlert,
    ...(options.visibility && { visibility: options.visibility }),
    projections: projectors.map((projector) => {
      const projection = shopProjections.find((p) => p.name === projector.status().name);
      return monitoredProjector(projector, {
        ...(projection?.types && { types: projection.types }),
        ...(projection?.categories && { categories: projection.categories }),
      });
    }),
  });
  const probe = createLagProbe({
    store,
    metrics,
    onAlert,
    readModels: projectors.map((projector) => ({
      name: projector.status().name,
      shows: (marker, timeoutMs) => projector.waitForPosition(marker.position, { timeoutMs }),
    })),
  });
  const accounts = createConsistencyMonitor<AccountCheckRow>({
    name: 'shop.account_balances',
    metrics,
    onAlert,
    sampleSize: options.sampleSize ?? 100,
    // Sampled from the read model: an account missing from it entirely is the lag monitor's
    // business (its events are counted as behind), not a wrong row.
    sample: (size) =>
      store.transaction(async (tx) =>
        (await tx.sql.query<{ account_id: string }>('SELECT account_id FROM shop_account_balances ORDER BY random() LIMIT $1', [size])).map(
          (row) => row.account_id,
        ),
      ),
    actual: async (accountId) => {
      const row = await store.transaction((tx) => findAccountBalance(tx.sql, accountId));
      return row && { owner: row.owner, balance: row.balance, status: row.status, version: row.version };
    },
    expected: expectedFromEvents({
      store,
      streamId: bankAccountStreamId,
      evolver: bankAccountDecider,
      toRow: (state, _id, version) => ({ owner: state.owner, balance: state.balance, status: state.status as 'open' | 'closed', version }),
      ...(options.snapshots && { snapshots: bankAccountSnapshots(options.snapshots) }),
    }),
    // A row that is merely behind is not wrong: let the projectors reach the head, then look again.
    settle: async () => void (await readModels.waitForPosition(await store.headPosition(), 5000)),
  });

  return {
    lag,
    accounts,
    probe,
    start(intervalMs) {
      let ticks = 0;
      let running: Promise<void> | undefined;
      const timer = setInterval(() => {
        if (running) return;
        const heavy = ticks++ % 10 === 0;
        running = Promise.all([lag.measure(), ...(heavy ? [probe.probe(), accounts.check()] : [])])
          .then(
            () => {},
            (error: unknown) => console.warn(`shop monitoring failed: ${String(error)}`),
          )
          .finally(() => {
            running = undefined;
          });
      }, intervalMs);
      timer.unref();
      return async () => {
        clearInterval(timer);
        await running;
      };
    },
  };
}
