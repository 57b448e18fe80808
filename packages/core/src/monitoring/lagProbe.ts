import { performance } from 'node:perf_hooks';
import type { RecordedEvent } from '../domain/event.js';
import type { StreamOperations } from '../eventStore/eventStore.js';
import type { AlertHandler } from './alert.js';
import { type Metrics, noMetrics } from './metrics.js';

export interface ProbedReadModel {
  name: string;
  /**
   * Resolves once the read model reflects `marker` (or anything after it), rejects or returns
   * false after `timeoutMs`. An asynchronous projector: `waitForPosition(marker.position)`;
   * any other reader: {@link pollUntil} on a query of the read model.
   */
  shows: (marker: RecordedEvent, timeoutMs: number) => Promise<unknown>;
}

export interface LagProbeOptions {
  store: Pick<StreamOperations, 'appendToStream'>;
  readModels: readonly ProbedReadModel[];
  /** Where markers go. Default `tidemarkProbe-lag`: projections filtering by category never see it. */
  streamId?: string;
  /** Give up waiting after this long; the lag is then reported as this value. Default 10 s. */
  timeoutMs?: number;
  /** Alert when a read model takes longer than this to show the marker. Default 5 s. */
  maxLagSeconds?: number;
  metrics?: Metrics;
  onAlert?: AlertHandler;
}

export interface LagMeasurement {
  name: string;
  seconds: number;
  /** False when the read model did not show the marker within the timeout. */
  reached: boolean;
}

export interface LagProbe {
  /** Appends one marker and measures every read model against it concurrently. */
  probe(): Promise<LagMeasurement[]>;
}

export const lagProbeEventType = 'tidemark.lag_probe.marked';

/**
 * The replication-lag measurement of the founding document: write a marker on the write side,
 * time how long until each read model shows it. Unlike a projection's own "seconds behind" it
 * measures the whole path a user's write takes — commit, notification, batch, read-model
 * commit — and it works on a quiet system.
 */
export function createLagProbe(options: LagProbeOptions): LagProbe {
  const streamId = options.streamId ?? 'tidemarkProbe-lag';
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxLagSeconds = options.maxLagSeconds ?? 5;
  const metrics = options.metrics ?? noMetrics;
  const lagGauge = metrics.gauge({
    name: 'tidemark_replication_lag_seconds',
    help: 'Time from appending a marker event until the read model showed it',
    labelNames: ['read_model'],
  });

  async function measure(readModel: ProbedReadModel, marker: RecordedEvent, started: number): Promise<LagMeasurement> {
    let reached: boolean;
    let timer: NodeJS.Timeout | undefined;
    // Our own deadline as well: a `shows` that ignores its timeout must not hang the probe.
    const deadline = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs + 50);
    });
    try {
      reached = (await Promise.race([readModel.shows(marker, timeoutMs), deadline])) !== false;
    } catch {
      reached = false;
    } finally {
      clearTimeout(timer);
    }
    const seconds = reached ? (performance.now() - started) / 1000 : timeoutMs / 1000;
    lagGauge.set(seconds, { read_model: readModel.name });
    if (!reached || seconds > maxLagSeconds) {
      options.onAlert?.({
        kind: 'lag',
        subject: readModel.name,
        value: seconds,
        threshold: maxLagSeconds,
        message: reached
          ? `read model '${readModel.name}' showed a write after ${seconds.toFixed(2)} s`
          : `read model '${readModel.name}' did not show a write within ${seconds} s`,
        details: { markerPosition: String(marker.position), reached },
      });
    }
    return { name: readModel.name, seconds, reached };
  }

  return {
    async probe() {
      const result = await options.store.appendToStream(streamId, [
        { type: lagProbeEventType, data: { sentAt: new Date().toISOString() } },
      ]);
      // Timed from the commit: the lag of the read side, not the latency of the append.
      const started = performance.now();
      const marker = result.events[result.events.length - 1] as RecordedEvent;
      return Promise.all(options.readModels.map((readModel) => measure(readModel, marker, started)));
    },
  };
}

/**
 * Polls `condition` until it holds (true) or `timeoutMs` passes (false). For read models that
 * have no position to wait on; it yields to the event loop between checks and backs off to
 * `maxIntervalMs`, so it costs little while it waits.
 */
export async function pollUntil(condition: () => Promise<boolean>, timeoutMs: number, maxIntervalMs = 50): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  let interval = 1;
  for (;;) {
    if (await condition()) return true;
    const left = deadline - performance.now();
    if (left <= 0) return false;
    await new Promise((resolve) => setTimeout(resolve, Math.min(interval, left)));
    interval = Math.min(interval * 2, maxIntervalMs);
  }
}
