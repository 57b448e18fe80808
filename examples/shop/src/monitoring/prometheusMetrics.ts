import type { Counter, Gauge, Histogram, HistogramOptions, Labels, MetricOptions, Metrics } from '@tidemark/core';
import * as prom from 'prom-client';

export interface PrometheusMetrics extends Metrics {
  /** Serve `await registry.metrics()` (content type `registry.contentType`) at GET /metrics. */
  readonly registry: prom.Registry;
}

/**
 * tidemark's Metrics port on prom-client. Core stays free of a metrics dependency; the shop,
 * which serves /metrics, adapts it here. Metrics are looked up by name first, because monitors
 * are created per projection and prom-client refuses to register a name twice.
 */
export function createPrometheusMetrics(registry: prom.Registry = new prom.Registry()): PrometheusMetrics {
  function existing<T>(name: string): T | undefined {
    return registry.getSingleMetric(name) as T | undefined;
  }
  const base = (options: MetricOptions) => ({
    name: options.name,
    help: options.help,
    labelNames: [...(options.labelNames ?? [])],
    registers: [registry],
  });
  const labelled = (labels: Labels | undefined) => ({ ...labels });

  return {
    registry,
    gauge(options: MetricOptions): Gauge {
      const gauge = existing<prom.Gauge>(options.name) ?? new prom.Gauge(base(options));
      return { set: (value, labels) => gauge.set(labelled(labels), value) };
    },
    counter(options: MetricOptions): Counter {
      const counter = existing<prom.Counter>(options.name) ?? new prom.Counter(base(options));
      return { inc: (labels, value = 1) => counter.inc(labelled(labels), value) };
    },
    histogram(options: HistogramOptions): Histogram {
      const histogram =
        existing<prom.Histogram>(options.name) ??
        new prom.Histogram({ ...base(options), ...(options.buckets && { buckets: [...options.buckets] }) });
      return { observe: (value, labels) => histogram.observe(labelled(labels), value) };
    },
  };
}
