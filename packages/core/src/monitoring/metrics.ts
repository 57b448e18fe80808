/**
 * Metrics as a port, so that core can report projection lag and consistency without depending
 * on a metrics library. The shapes follow prom-client closely (name, help, labelNames,
 * buckets), so an adapter is a few lines; core ships an in-memory one for tests and status pages.
 */
export type Labels = Readonly<Record<string, string>>;

export interface MetricOptions {
  /** snake_case with a unit suffix, as Prometheus wants: `tidemark_projection_lag_seconds`. */
  name: string;
  help: string;
  labelNames?: readonly string[];
}

export interface HistogramOptions extends MetricOptions {
  /** Upper bounds of the buckets, ascending. */
  buckets?: readonly number[];
}

export interface Gauge {
  set(value: number, labels?: Labels): void;
}

export interface Counter {
  inc(labels?: Labels, value?: number): void;
}

export interface Histogram {
  observe(value: number, labels?: Labels): void;
}

export interface Metrics {
  /** Asking twice for the same name returns the same metric (adapters must not double-register). */
  gauge(options: MetricOptions): Gauge;
  counter(options: MetricOptions): Counter;
  histogram(options: HistogramOptions): Histogram;
}

/** A metrics sink that records nothing: the default where no metrics were asked for. */
export const noMetrics: Metrics = {
  gauge: () => ({ set: () => {} }),
  counter: () => ({ inc: () => {} }),
  histogram: () => ({ observe: () => {} }),
};
