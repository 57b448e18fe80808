import type { Clock } from '../domain/clock.js';
import { systemClock } from '../domain/clock.js';
import { ValidationError } from '../domain/errors.js';
import type { EventStore } from '../eventStore/eventStore.js';
import type { AlertHandler } from './alert.js';
import { type Metrics, noMetrics } from './metrics.js';

export interface MonitoredProjection {
  name: string;
  /** Global position of the last event the projection applied (its checkpoint). */
  checkpoint: () => Promise<bigint>;
  /** The events it subscribes to, so events it will never see are not counted as behind. */
  types?: readonly string[];
  categories?: readonly string[];
}

/**
 * How far a store's readable horizon lags behind its committed log. On PostgreSQL a reader
 * cannot see past the oldest transaction still running anywhere on the server (see the
 * adapter's `visibilityLag()`): events committed after it started stay unreadable, so no
 * projector can get to them and counting readable events alone reports 0 lag.
 */
export interface VisibilitySample {
  /** Age of the oldest running transaction holding the horizon back (0: none). */
  oldestOpenTransactionSeconds: number;
  /** Events committed but not readable yet. */
  invisibleEvents: number;
  /** `recordedAt` of the oldest of them. */
  oldestInvisibleRecordedAt?: Date;
}

/** Where a reader learns of committed-but-unreadable events: `() => store.visibilityLag()` on PostgreSQL. */
export type VisibilitySource = () => Promise<VisibilitySample>;

/**
 * The store's own visibility source when it has one (PostgreSQL's `visibilityLag()`), else
 * undefined: on SQLite and in memory every committed event is readable at once, so there is no
 * horizon to watch. Projectors use it by default, so that their `status()` shows a held-back
 * horizon; pass it to the lag monitor as `visibility`.
 */
export function storeVisibility(store: object): VisibilitySource | undefined {
  const visibilityLag = (store as { visibilityLag?: unknown }).visibilityLag;
  if (typeof visibilityLag !== 'function') return undefined;
  return () => (visibilityLag as () => Promise<VisibilitySample>).call(store);
}

export interface ProjectionLag {
  name: string;
  checkpoint: bigint;
  head: bigint;
  /** Events after the checkpoint, counted (not subtracted: PostgreSQL positions are sparse), committed-but-unreadable ones included. */
  eventsBehind: number;
  /** Of those, events committed but not readable yet (all of them, whatever the projection's filters: the horizon hides their types too). */
  invisibleEvents: number;
  /** Age of the oldest transaction holding the readable horizon back; 0 without a `visibility` source. */
  horizonAgeSeconds: number;
  /** False when more than `countLimit` events are behind: `eventsBehind` is then a lower bound. */
  exact: boolean;
  /** Age of the oldest event not yet applied, readable or not; 0 when caught up. */
  secondsBehind: number;
}

export interface ProjectionLagMonitorOptions {
  store: Pick<EventStore, 'readAll' | 'headPosition'>;
  projections: readonly MonitoredProjection[];
  metrics?: Metrics;
  clock?: Clock;
  /** Count at most this many events per measurement. Default 10,000. */
  countLimit?: number;
  /** Alert when a projection is further behind than this. Default 5 s (the founding document's rule). */
  maxSecondsBehind?: number;
  /**
   * The store's committed-but-unreadable events and horizon age (PostgreSQL:
   * `() => store.visibilityLag()`, or `storeVisibility(store)`); without it only readable events
   * count as lag.
   */
  visibility?: VisibilitySource;
  /** Alert when the readable horizon is held back longer than this. Default 10 s. */
  maxHorizonAgeSeconds?: number;
  onAlert?: AlertHandler;
}

export interface ProjectionLagMonitor {
  /** Measures every projection and updates the gauges (call it on a timer or on each scrape). */
  measure(): Promise<ProjectionLag[]>;
  /** Measures every `intervalMs` until the returned function is called. Errors go to `onError`. */
  start(intervalMs: number, onError?: (error: unknown) => void): () => void;
}

/**
 * Projection lag in events and in seconds. Seconds behind is the age of the oldest event after
 * the checkpoint, not "now − recordedAt of the last processed event" as the founding document
 * sketches it: that figure grows without bound while a caught-up projection waits for traffic,
 * and would page someone at night for a quiet shop. Both agree whenever events are waiting.
 */
export function createProjectionLagMonitor(options: ProjectionLagMonitorOptions): ProjectionLagMonitor {
  const clock = options.clock ?? systemClock;
  const countLimit = options.countLimit ?? 10_000;
  if (!Number.isSafeInteger(countLimit) || countLimit < 1) {
    throw new ValidationError('countLimit must be a whole number ≥ 1', { field: 'countLimit' });
  }
  const maxSecondsBehind = options.maxSecondsBehind ?? 5;
  const metrics = options.metrics ?? noMetrics;
  const eventsGauge = metrics.gauge({
    name: 'tidemark_projection_events_behind',
    help: 'Events after the projection checkpoint (a lower bound when capped)',
    labelNames: ['projection'],
  });
  const secondsGauge = metrics.gauge({
    name: 'tidemark_projection_lag_seconds',
    help: 'Age of the oldest event the projection has not applied yet',
    labelNames: ['projection'],
  });
  const checkpointGauge = metrics.gauge({
    name: 'tidemark_projection_checkpoint_position',
    help: 'Global position of the last event the projection applied',
    labelNames: ['projection'],
  });
  const maxHorizonAgeSeconds = options.maxHorizonAgeSeconds ?? 10;
  const horizonAgeGauge = metrics.gauge({
    name: 'tidemark_readable_horizon_age_seconds',
    help: 'Age of the oldest running transaction holding back what readers can see (every reader stalls behind it)',
  });
  const invisibleGauge = metrics.gauge({
    name: 'tidemark_invisible_events',
    help: 'Events committed but not yet readable because of the readable horizon',
  });

  async function measureOne(
    projection: MonitoredProjection,
    head: bigint,
    visibility: VisibilitySample | undefined,
  ): Promise<ProjectionLag> {
    const checkpoint = await projection.checkpoint();
    let eventsBehind = 0;
    let oldest: Date | undefined;
    if (checkpoint < head) {
      const events = options.store.readAll({
        after: checkpoint,
        limit: countLimit + 1,
        batchSize: Math.min(countLimit + 1, 1000),
        ...(projection.types && { types: projection.types }),
        ...(projection.categories && { categories: projection.categories }),
      });
      for await (const event of events) {
        // Events appended after the head was read are not lag of this measurement.
        if (event.position > head) break;
        oldest ??= event.recordedAt;
        eventsBehind++;
      }
    }
    const exact = eventsBehind <= countLimit;
    const invisibleEvents = visibility?.invisibleEvents ?? 0;
    // Readable events are older than unreadable ones only when there are some.
    oldest ??= invisibleEvents > 0 ? visibility?.oldestInvisibleRecordedAt : undefined;
    const lag: ProjectionLag = {
      name: projection.name,
      checkpoint,
      head,
      eventsBehind: Math.min(eventsBehind, countLimit) + invisibleEvents,
      invisibleEvents,
      horizonAgeSeconds: visibility?.oldestOpenTransactionSeconds ?? 0,
      exact,
      secondsBehind: oldest ? Math.max(0, (clock.now().getTime() - oldest.getTime()) / 1000) : 0,
    };
    const labels = { projection: projection.name };
    eventsGauge.set(lag.eventsBehind, labels);
    secondsGauge.set(lag.secondsBehind, labels);
    checkpointGauge.set(Number(checkpoint), labels);
    if (lag.secondsBehind > maxSecondsBehind) {
      options.onAlert?.({
        kind: 'lag',
        subject: projection.name,
        value: lag.secondsBehind,
        threshold: maxSecondsBehind,
        message: `projection '${projection.name}' is ${lag.secondsBehind.toFixed(1)} s behind (${lag.eventsBehind}${exact ? '' : '+'} events)`,
        details: { ...lag, checkpoint: String(lag.checkpoint), head: String(lag.head) },
      });
    }
    return lag;
  }

  async function measureVisibility(): Promise<VisibilitySample | undefined> {
    if (!options.visibility) return undefined;
    const sample = await options.visibility();
    horizonAgeGauge.set(sample.oldestOpenTransactionSeconds);
    invisibleGauge.set(sample.invisibleEvents);
    if (sample.oldestOpenTransactionSeconds > maxHorizonAgeSeconds) {
      options.onAlert?.({
        kind: 'horizon',
        subject: 'readable horizon',
        value: sample.oldestOpenTransactionSeconds,
        threshold: maxHorizonAgeSeconds,
        message: `a transaction open for ${sample.oldestOpenTransactionSeconds.toFixed(1)} s holds back every reader (${sample.invisibleEvents} events committed but not readable)`,
        details: { ...sample },
      });
    }
    return sample;
  }

  async function measure(): Promise<ProjectionLag[]> {
    // The head first: what is invisible after it was read lies past it (the horizon only moves
    // forward), so no event is counted both as readable and as invisible.
    const head = await options.store.headPosition();
    const visibility = await measureVisibility();
    return Promise.all(options.projections.map((projection) => measureOne(projection, head, visibility)));
  }

  return {
    measure,
    start(intervalMs, onError = (error) => console.warn(`projection lag measurement failed: ${String(error)}`)) {
      let running = false;
      const timer = setInterval(() => {
        // Never overlap measurements: a slow database would otherwise pile them up.
        if (running) return;
        running = true;
        measure()
          .catch(onError)
          .finally(() => {
            running = false;
          });
      }, intervalMs);
      timer.unref();
      return () => clearInterval(timer);
    },
  };
}
