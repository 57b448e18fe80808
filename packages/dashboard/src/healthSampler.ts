import { type ConsistencyMonitor, type EventBrowser, type EventStore, ValidationError } from '@tidemark/core';
import type { ProjectionView } from './projectionOverview.js';

/** One point of the health charts. */
export interface HealthSample {
  /** Epoch milliseconds. */
  at: number;
  /** Events appended per second since the sample before. */
  appendRate: number;
  /** The largest lag of any projector, in events and in seconds. */
  lagEvents: number;
  lagSeconds: number;
  /** The lowest rate of the monitors' latest consistency reports (0..1), null before any report. */
  consistencyRate: number | null;
}

export interface HealthSampler {
  samples(): HealthSample[];
  onSample(listener: (sample: HealthSample) => void): () => void;
  stop(): Promise<void>;
}

/** Appended events are counted, not subtracted (PostgreSQL positions are sparse), up to this many per sample. */
const countLimit = 100_000;

/**
 * Samples the store's append rate, the projectors' lag and the consistency rate every
 * `intervalMs` into a ring of the last `keep` samples, for the charts and their live stream.
 * It runs beside a busy application, so it reads no event: the append rate is the browser's
 * count of positions between two successive heads, and the consistency rate is each monitor's
 * latest report (usually from the application's own schedule). Only a monitor without a report
 * younger than `consistencyIntervalMs` is checked here, in the background, one check per monitor
 * at a time: a check folds up to its sampleSize streams and must not hold back the samples.
 * A failed sample is skipped (the next one tries again): a chart with a gap says more than a
 * dashboard that died.
 */
export function startHealthSampler(options: {
  store: Pick<EventStore, 'headPosition'>;
  browser: Pick<EventBrowser, 'countEvents'>;
  overview: () => Promise<ProjectionView[]>;
  consistency: readonly ConsistencyMonitor<unknown>[];
  /** A report at least this old (or none) makes the sampler check the monitor itself. */
  consistencyIntervalMs: number;
  intervalMs: number;
  keep: number;
  onError: (error: unknown) => void;
}): HealthSampler {
  const { store, browser, consistency, consistencyIntervalMs, keep } = options;
  if (typeof consistencyIntervalMs !== 'number' || !(consistencyIntervalMs >= 0)) {
    throw new ValidationError('consistencyIntervalMs must be a number ≥ 0', { field: 'consistencyIntervalMs' });
  }
  const ring: HealthSample[] = [];
  const listeners = new Set<(sample: HealthSample) => void>();
  const checking = new Map<ConsistencyMonitor<unknown>, Promise<void>>();
  let head: bigint | undefined;
  let last = performance.now();
  let stopped = false;
  let inFlight: Promise<void> = Promise.resolve();

  function checkIfStale(monitor: ConsistencyMonitor<unknown>): void {
    const report = monitor.lastReport();
    if (report !== undefined && Date.now() - report.checkedAt.getTime() < consistencyIntervalMs) return;
    if (checking.has(monitor) || stopped) return;
    const running = monitor
      .check()
      .then(
        () => {},
        (error: unknown) => {
          if (!stopped) options.onError(error);
        },
      )
      .finally(() => checking.delete(monitor));
    checking.set(monitor, running);
  }

  function consistencyRate(): number | null {
    const rates = consistency.flatMap((monitor) => monitor.lastReport()?.rate ?? []);
    return rates.length === 0 ? null : Math.min(...rates);
  }

  async function sample(): Promise<void> {
    const now = performance.now();
    const from = head;
    // A sampler need not wait for its own process's commits to become readable (see HeadPositionOptions).
    head = await store.headPosition({ readYourWrites: false });
    // Between two readable heads the count is exact; on PostgreSQL headPosition is the
    // readable head, so no event committed below it can appear later.
    const appended = from === undefined ? 0 : await browser.countEvents({ after: from, upTo: head, limit: countLimit });
    const seconds = (now - last) / 1000;
    last = now;
    const views = await options.overview();
    for (const monitor of consistency) checkIfStale(monitor);
    const point: HealthSample = {
      at: Date.now(),
      appendRate: from === undefined || seconds <= 0 ? 0 : Math.round((appended / seconds) * 10) / 10,
      lagEvents: Math.max(0, ...views.map((view) => view.lag?.events ?? 0)),
      lagSeconds: Math.max(0, ...views.map((view) => view.lag?.seconds ?? 0)),
      consistencyRate: consistencyRate(),
    };
    ring.push(point);
    if (ring.length > keep) ring.shift();
    for (const listener of listeners) listener(point);
  }

  const run = () => {
    inFlight = sample().catch((error: unknown) => {
      if (!stopped) options.onError(error);
    });
  };
  run();
  const timer = setInterval(() => {
    // One sample at a time: a slow database makes samples sparser, not concurrent.
    inFlight = inFlight.then(run);
  }, options.intervalMs);
  timer.unref();

  return {
    samples: () => [...ring],
    onSample(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await inFlight;
      // A check of its own still running must finish before the application closes the store.
      await Promise.all(checking.values());
    },
  };
}
