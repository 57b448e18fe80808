import type { BatchInfo, Projector, RetryInfo } from '../processing/projector.js';
import { type Metrics, noMetrics } from './metrics.js';
import type { MonitoredProjection } from './projectionLagMonitor.js';

/**
 * Per-batch metrics of a projector, fed by its `onBatch` callback: throughput, batch duration
 * and checkpoint. They cost nothing between batches; the lag gauges (which must keep moving
 * while a projector is stuck, when no batch comes) are the projection lag monitor's job.
 */
export function projectorBatchMetrics(metrics: Metrics = noMetrics): (info: BatchInfo) => void {
  const applied = metrics.counter({
    name: 'tidemark_projection_events_applied_total',
    help: 'Events applied to the read model by this process',
    labelNames: ['projection'],
  });
  const parked = metrics.counter({
    name: 'tidemark_projection_events_parked_total',
    help: 'Events set aside in the dead-letter table by this process',
    labelNames: ['projection'],
  });
  const duration = metrics.histogram({
    name: 'tidemark_projection_batch_duration_seconds',
    help: 'Time to apply and commit one batch (read-model writes and checkpoint)',
    labelNames: ['projection'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  });
  const checkpoint = metrics.gauge({
    name: 'tidemark_projection_checkpoint_position',
    help: 'Global position of the last event the projection applied',
    labelNames: ['projection'],
  });
  const retrying = retryingGauge(metrics);
  return (info) => {
    const labels = { projection: info.name };
    retrying.set(0, labels);
    if (info.events > 0) applied.inc(labels, info.events);
    if (info.parked > 0) parked.inc(labels, info.parked);
    duration.observe(info.durationMs / 1000, labels);
    checkpoint.set(Number(info.toPosition), labels);
  };
}

const retryingGauge = (metrics: Metrics) =>
  metrics.gauge({
    name: 'tidemark_projection_infrastructure_failures',
    help: 'Consecutive infrastructure failures the projector is retrying (0 once a batch commits)',
    labelNames: ['projection'],
  });

/**
 * Infrastructure retries of a projector, fed by its `onRetry` callback: a counter, and a gauge
 * of consecutive failures that the batch metrics put back to 0 — alert on it staying above 0.
 */
export function projectorRetryMetrics(metrics: Metrics = noMetrics): (info: RetryInfo) => void {
  const retries = metrics.counter({
    name: 'tidemark_projection_infrastructure_retries_total',
    help: 'Infrastructure failures (lost connection, lock timeout, deadlock…) the projector retried',
    labelNames: ['projection'],
  });
  const retrying = retryingGauge(metrics);
  return (info) => {
    const labels = { projection: info.name };
    retries.inc(labels);
    retrying.set(info.attempts, labels);
  };
}

/** A projector as the lag monitor sees it: its name, filters and in-process checkpoint. */
export function monitoredProjector(
  projector: Pick<Projector, 'status'>,
  filters: Pick<MonitoredProjection, 'types' | 'categories'> = {},
): MonitoredProjection {
  return {
    name: projector.status().name,
    checkpoint: async () => projector.status().checkpoint,
    ...filters,
  };
}
