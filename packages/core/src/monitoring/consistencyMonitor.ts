import { type Clock, systemClock } from '../domain/clock.js';
import type { Evolver } from '../domain/decider.js';
import { ValidationError } from '../domain/errors.js';
import type { DomainEvent } from '../domain/event.js';
import type { StreamOperations } from '../eventStore/eventStore.js';
import { loadAggregate } from '../snapshots/loadAggregate.js';
import type { SnapshotOptions } from '../snapshots/snapshotOptions.js';
import type { AlertHandler } from './alert.js';
import { type Metrics, noMetrics } from './metrics.js';

export interface ConsistencyMismatch<Row> {
  id: string;
  /** What the read model holds (undefined: no row). */
  actual: Row | undefined;
  /** What the events say it should hold (undefined: the entity does not exist). */
  expected: Row | undefined;
}

export interface ConsistencyReport<Row> {
  name: string;
  checked: number;
  consistent: number;
  /** consistent / checked, in 0..1; 1 when nothing was sampled. */
  rate: number;
  mismatches: ConsistencyMismatch<Row>[];
  /** When the check finished (the monitor's clock): how old the rate is. */
  checkedAt: Date;
}

export interface ConsistencyMonitorOptions<Row> {
  /** The read model being watched: the metric label and the alert subject. */
  name: string;
  /** Up to `size` entity ids, chosen at random (TABLESAMPLE, ORDER BY random() LIMIT n…). */
  sample: (size: number) => Promise<readonly string[]>;
  /** The read model's row for an entity. */
  actual: (id: string) => Promise<Row | undefined>;
  /** The row the events say it should be: see {@link expectedFromEvents}. */
  expected: (id: string) => Promise<Row | undefined>;
  /** Default: structural equality (key order ignored). */
  equals?: (actual: Row, expected: Row) => boolean;
  /** Default 100. */
  sampleSize?: number;
  /** Alert below this rate. Default 0.99. */
  minRate?: number;
  /**
   * Lets the read model catch up before mismatches are checked again, e.g.
   * `() => projector.waitForPosition(await store.headPosition())`. Without it an event that
   * lands between the two reads of one entity counts as an inconsistency.
   */
  settle?: () => Promise<void>;
  metrics?: Metrics;
  onAlert?: AlertHandler;
  /** Stamps the reports' `checkedAt`. Default: the system clock. */
  clock?: Clock;
}

export interface ConsistencyMonitor<Row> {
  /** Samples, compares and reports now: the expensive part (it folds up to `sampleSize` streams). */
  check(): Promise<ConsistencyReport<Row>>;
  /**
   * The report of the latest check() that completed, whoever called it; undefined before the
   * first. Free: a status page reads the rate the application's own schedule measured instead
   * of folding the streams again.
   */
  lastReport(): ConsistencyReport<Row> | undefined;
}

/** JSON with sorted keys: two rows are equal when they serialise the same, whatever their key order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/**
 * Compares a sample of read-model rows with the state rebuilt from their events — the check
 * of the founding document's ConsistencyMonitor, with the event log (not a write table) as the
 * source of truth. Reports the rate and the ids that differ, sets
 * `tidemark_consistency_rate{read_model}` and alerts below `minRate`.
 */
export function createConsistencyMonitor<Row>(options: ConsistencyMonitorOptions<Row>): ConsistencyMonitor<Row> {
  const sampleSize = options.sampleSize ?? 100;
  if (!Number.isSafeInteger(sampleSize) || sampleSize < 1) {
    throw new ValidationError('sampleSize must be a whole number ≥ 1', { field: 'sampleSize' });
  }
  const minRate = options.minRate ?? 0.99;
  const equals = options.equals ?? ((a: Row, b: Row) => canonical(a) === canonical(b));
  const metrics = options.metrics ?? noMetrics;
  const clock = options.clock ?? systemClock;
  let last: ConsistencyReport<Row> | undefined;
  const rateGauge = metrics.gauge({
    name: 'tidemark_consistency_rate',
    help: 'Share of sampled read-model rows equal to the state rebuilt from events (0..1)',
    labelNames: ['read_model'],
  });
  const mismatchGauge = metrics.gauge({
    name: 'tidemark_consistency_mismatches',
    help: 'Sampled read-model rows that differ from the state rebuilt from events',
    labelNames: ['read_model'],
  });

  async function compare(id: string): Promise<ConsistencyMismatch<Row> | undefined> {
    const [actual, expected] = await Promise.all([options.actual(id), options.expected(id)]);
    if (actual === undefined && expected === undefined) return undefined;
    if (actual !== undefined && expected !== undefined && equals(actual, expected)) return undefined;
    return { id, actual, expected };
  }

  return {
    async check(): Promise<ConsistencyReport<Row>> {
      const ids = [...new Set(await options.sample(sampleSize))].slice(0, sampleSize);
      let mismatches: ConsistencyMismatch<Row>[] = [];
      for (const id of ids) {
        const mismatch = await compare(id);
        if (mismatch) mismatches.push(mismatch);
      }
      if (mismatches.length > 0 && options.settle) {
        await options.settle();
        const again: ConsistencyMismatch<Row>[] = [];
        for (const { id } of mismatches) {
          const mismatch = await compare(id);
          if (mismatch) again.push(mismatch);
        }
        mismatches = again;
      }
      const consistent = ids.length - mismatches.length;
      const rate = ids.length === 0 ? 1 : consistent / ids.length;
      const labels = { read_model: options.name };
      rateGauge.set(rate, labels);
      mismatchGauge.set(mismatches.length, labels);
      const report = { name: options.name, checked: ids.length, consistent, rate, mismatches, checkedAt: clock.now() };
      // Two checks may overlap (the application's schedule and a dashboard): the later finish wins.
      last = report;
      if (rate < minRate) {
        options.onAlert?.({
          kind: 'consistency',
          subject: options.name,
          value: rate,
          threshold: minRate,
          message: `read model '${options.name}' is ${(rate * 100).toFixed(1)} % consistent (${mismatches.length} of ${ids.length} sampled rows differ)`,
          details: { mismatchedIds: mismatches.map((m) => m.id) },
        });
      }
      return report;
    },
    lastReport: () => last,
  };
}

export interface ExpectedFromEventsOptions<Row, State> {
  store: StreamOperations;
  streamId: (id: string) => string;
  evolver: Evolver<DomainEvent, State>;
  /** The read-model row a state should produce. */
  toRow: (state: State, id: string, version: number) => Row;
  /**
   * The decider's snapshot options (the same object its command handler uses: store, schema
   * version, name): each entity is then folded from its latest usable snapshot plus the events
   * after it (loadAggregate) instead of from its first event. Without them, the whole stream.
   */
  snapshots?: SnapshotOptions<State>;
}

/**
 * The `expected` side of a consistency check: fold the entity's stream and map it to a row.
 * A check compares up to `sampleSize` entities, so on long streams give it `snapshots`: the
 * fold reads only the tail after the latest snapshot. It trusts that snapshot as the command
 * path does; a snapshot unfit to use (unreadable, another schema version) is reported to the
 * snapshot options' `onError` and the stream is folded in full.
 */
export function expectedFromEvents<Row, State>(options: ExpectedFromEventsOptions<Row, State>): (id: string) => Promise<Row | undefined> {
  const { snapshots } = options;
  return async (id) => {
    const result = snapshots
      ? await loadAggregate(options.store, options.streamId(id), options.evolver, { snapshots })
      : await options.store.aggregateStream(options.streamId(id), options.evolver);
    return result.exists ? options.toRow(result.state, id, result.version) : undefined;
  };
}
