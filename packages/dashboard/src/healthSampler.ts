import type { ConsistencyMonitor, EventStore } from '@tidemark/core';
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
  /** The lowest rate of the consistency checks (0..1), null without checks. */
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
 * The consistency checks fold events, so they run every tenth sample only. A failed sample is
 * skipped (the next one tries again): a chart with a gap says more than a dashboard that died.
 */
export function startHealthSampler(options: {
  store: Pick<EventStore, 'headPosition' | 'readAll'>;
  overview: () => Promise<ProjectionView[]>;
  consistency: readonly ConsistencyMonitor<unknown>[];
  intervalMs: number;
  keep: number;
  onError: (error: unknown) => void;
}): HealthSampler {
  const { store, consistency, keep } = options;
  const ring: HealthSample[] = [];
  const listeners = new Set<(sample: HealthSample) => void>();
  let head: bigint | undefined;
  let last = performance.now();
  let tick = 0;
  let consistencyRate: number | null = null;
  let stopped = false;
  let inFlight: Promise<void> = Promise.resolve();

  async function sample(): Promise<void> {
    const now = performance.now();
    let appended = 0;
    const from = head;
    head = await store.headPosition();
    if (from !== undefined) {
      for await (const _ of store.readAll({ after: from, limit: countLimit, batchSize: 1000 })) appended++;
    }
    const seconds = (now - last) / 1000;
    last = now;
    const views = await options.overview();
    if (consistency.length > 0 && tick % 10 === 0) {
      const reports = await Promise.all(consistency.map((monitor) => monitor.check()));
      consistencyRate = Math.min(...reports.map((report) => report.rate));
    }
    tick++;
    const point: HealthSample = {
      at: Date.now(),
      appendRate: from === undefined || seconds <= 0 ? 0 : Math.round((appended / seconds) * 10) / 10,
      lagEvents: Math.max(0, ...views.map((view) => view.lag?.events ?? 0)),
      lagSeconds: Math.max(0, ...views.map((view) => view.lag?.seconds ?? 0)),
      consistencyRate,
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
    },
  };
}
