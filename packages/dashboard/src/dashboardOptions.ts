import type {
  CheckpointStore,
  ConsistencyMonitor,
  DomainEvent,
  EventBrowser,
  EventStore,
  Evolver,
  OutboxRelay,
  OutboxStats,
  Projection,
  Projector,
  StoreTransaction,
  TableSwap,
} from '@tidemark/core';

/** A decider (or any evolver) whose streams the stream-state page can fold, by stream category. */
export interface DashboardDecider {
  /** The stream category it owns (`account` for `account-42`). */
  category: string;
  evolver: Evolver<DomainEvent, unknown>;
}

/** An outbox table's figures, for the messaging page. */
export interface DashboardOutbox {
  name: string;
  stats(): Promise<OutboxStats>;
}

/**
 * What the dashboard reads and acts through: only tidemark's public ports. Everything but the
 * store and its browser is optional; a page shows what it was given (a standalone dashboard
 * on a database file has checkpoints but no running projector, for instance).
 */
export interface DashboardOptions<Tx extends StoreTransaction = StoreTransaction> {
  store: EventStore<Tx>;
  /**
   * The store adapter's browser: the event pages, and the health charts' append rate (its
   * `countEvents`, which reads no event body).
   */
  browser: EventBrowser;
  /** Checkpoints, failures and dead letters of every projector writing to this store. */
  checkpoints?: CheckpointStore<Tx>;
  /** Projectors this process runs: their live state beside their checkpoints. */
  projectors?: readonly Projector[];
  /**
   * Projection definitions: what a rebuild replays (with `swap`) and what retrying a parked
   * event applies; their type and category filters also make the lag exact.
   */
  projections?: readonly Projection<Tx>[];
  /** The adapter's table swap (createSqliteTableSwap, createPostgresTableSwap): enables rebuilds. */
  swap?: TableSwap<Tx>;
  /** Message consumers that follow the log (shown on the messaging page with their lag). */
  consumers?: readonly Projector[];
  /** Relays publishing to brokers: backlog, oldest unpublished message, state. */
  relays?: readonly OutboxRelay[];
  outboxes?: readonly DashboardOutbox[];
  /** Deciders for the stream-state page. */
  deciders?: readonly DashboardDecider[];
  /**
   * Read-model consistency monitors: the health page charts the lowest rate of their latest
   * reports (`lastReport()`). The application normally runs their checks on its own schedule;
   * the dashboard checks a monitor itself only when it has no report younger than
   * `consistencyIntervalMs`.
   */
  consistency?: readonly ConsistencyMonitor<unknown>[];
  /**
   * Bearer token that actions (rebuild, retry, skip) require. Without it every action is
   * refused (403): the pages stay read-only.
   */
  token?: string | undefined;
  /** Health sampling period. Default 2000 ms. */
  healthIntervalMs?: number;
  /**
   * How old a consistency report may be before the dashboard runs that monitor's check itself
   * (each check folds up to its sampleSize streams). Default 300,000 ms (5 minutes): longer than
   * the application's own schedule, so that the dashboard adds no checks of its own while that
   * runs. `Infinity`: check only a monitor that has no report at all.
   */
  consistencyIntervalMs?: number;
  /** Samples kept for the health charts. Default 300. */
  healthSamples?: number;
  /** Shown in the header. Default 'tidemark'. */
  title?: string;
}
