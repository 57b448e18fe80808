import {
  type CheckpointRecord,
  type CheckpointStore,
  createProjectionLagMonitor,
  type EventStore,
  type FailedEvent,
  type MonitoredProjection,
  maxPosition,
  type Projection,
  type ProjectionLag,
  type Projector,
  type ProjectorStatus,
  type StoreTransaction,
  storeVisibility,
} from '@tidemark/core';

/** One projector (or log consumer) as the projections and messaging pages show it. */
export interface ProjectionView {
  name: string;
  /** The projector's state when this process runs it; `not running here` for a checkpoint alone. */
  state: ProjectorStatus['state'] | 'not running here';
  checkpoint: bigint;
  updatedAt?: Date;
  /**
   * Events and seconds behind, committed-but-unreadable events included; `head` is the readable
   * head. On a store with a readable horizon (PostgreSQL) `invisibleEvents` (held back by a
   * transaction open somewhere on the server, counted in `events`) and `horizonAgeSeconds` (that
   * transaction's age) say whether the projector is stalled behind the horizon.
   */
  lag?: { events: number; exact: boolean; seconds: number; head: bigint; invisibleEvents?: number; horizonAgeSeconds?: number };
  eventsProcessed?: number;
  eventsParked?: number;
  /** The infrastructure error the projector is retrying. */
  lastError?: string;
  /** The event a halted projector stopped on. */
  failure?: CheckpointRecord['failure'];
  failed: FailedEvent[];
}

/**
 * Reads every projector's figures through the public ports: live status from the projectors
 * this process runs, checkpoints, failures and dead letters from the checkpoint store, and the
 * lag counted by a projection lag monitor (with each projection's filters when it is known).
 */
export function createProjectionOverview<Tx extends StoreTransaction>(options: {
  store: EventStore<Tx>;
  checkpoints: CheckpointStore<Tx> | undefined;
  projectors: readonly Projector[];
  projections: readonly Projection<Tx>[];
}) {
  const { store, checkpoints } = options;
  // PostgreSQL's: without it a projector stalled behind the horizon shows 0 events behind. A
  // sample that fails leaves the page as it was without it rather than failing the page.
  const storeSource = storeVisibility(store);
  const visibility = storeSource && (() => storeSource().catch(() => ({ oldestOpenTransactionSeconds: 0, invisibleEvents: 0 })));
  const projectors = new Map(options.projectors.map((p) => [p.name, p]));
  const definitions = new Map(options.projections.map((p) => [p.name, p]));

  return async function overview(names?: ReadonlySet<string>): Promise<ProjectionView[]> {
    const [records, failed] = checkpoints
      ? await store.transaction(async (tx) => [await checkpoints.list(tx), await checkpoints.failedEvents(tx)] as const)
      : [[] as CheckpointRecord[], [] as FailedEvent[]];
    const stored = new Map(records.map((record) => [record.name, record]));
    // The later of the two: a rebuild or another instance may have moved the stored checkpoint
    // past what this process's projector (stopped, or on standby) last saw.
    const checkpointOf = (name: string) => maxPosition(projectors.get(name)?.status().checkpoint ?? 0n, stored.get(name)?.position ?? 0n);
    const all = [...new Set([...projectors.keys(), ...stored.keys()])].filter((name) => !names || names.has(name)).sort();
    const monitored = all.map((name): MonitoredProjection => {
      const definition = definitions.get(name);
      return {
        name,
        checkpoint: async () => checkpointOf(name),
        ...(definition?.types && { types: definition.types }),
        ...(definition?.categories && { categories: definition.categories }),
      };
    });
    const lags = new Map<string, ProjectionLag>(
      (await createProjectionLagMonitor({ store, projections: monitored, ...(visibility && { visibility }) }).measure()).map((lag) => [
        lag.name,
        lag,
      ]),
    );
    return all.map((name): ProjectionView => {
      const status = projectors.get(name)?.status();
      const record = stored.get(name);
      const lag = lags.get(name);
      const failure = status?.error ?? record?.failure;
      return {
        name,
        state: status?.state ?? 'not running here',
        checkpoint: checkpointOf(name),
        ...(record && { updatedAt: record.updatedAt }),
        ...(lag && {
          lag: {
            events: lag.eventsBehind,
            exact: lag.exact,
            seconds: lag.secondsBehind,
            head: lag.head,
            ...(visibility && { invisibleEvents: lag.invisibleEvents, horizonAgeSeconds: lag.horizonAgeSeconds }),
          },
        }),
        ...(status && { eventsProcessed: status.eventsProcessed, eventsParked: status.eventsParked }),
        ...(status?.lastError !== undefined && { lastError: status.lastError }),
        ...(failure && { failure }),
        failed: failed.filter((event) => event.projection === name),
      };
    });
  };
}
