import { ValidationError } from '../domain/errors.js';
import type { Counter, Gauge, Histogram, HistogramOptions, Labels, MetricOptions, Metrics } from './metrics.js';

export interface MetricSample {
  name: string;
  labels: Labels;
  /** Gauge: last value; counter: total; histogram: every observation, in order. */
  value: number;
  observations?: readonly number[];
}

export interface InMemoryMetrics extends Metrics {
  /** The current value of one series, or undefined when it was never written. */
  value(name: string, labels?: Labels): number | undefined;
  /** Observations of one histogram series. */
  observations(name: string, labels?: Labels): readonly number[];
  samples(): MetricSample[];
}

const seriesKey = (labels: Labels | undefined) =>
  JSON.stringify(
    Object.entries(labels ?? {})
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => a.localeCompare(b)),
  );

/** The reference Metrics adapter: values readable by tests, a status page or a CLI. */
export function createInMemoryMetrics(): InMemoryMetrics {
  const kinds = new Map<string, 'gauge' | 'counter' | 'histogram'>();
  const series = new Map<string, Map<string, { labels: Labels; value: number; observations: number[] }>>();

  function register(kind: 'gauge' | 'counter' | 'histogram', options: MetricOptions) {
    const known = kinds.get(options.name);
    if (known && known !== kind) {
      throw new ValidationError(`metric '${options.name}' is already a ${known}`, { name: options.name });
    }
    kinds.set(options.name, kind);
    if (!series.has(options.name)) series.set(options.name, new Map());
    const byLabels = series.get(options.name) as Map<string, { labels: Labels; value: number; observations: number[] }>;
    return (labels: Labels | undefined) => {
      const key = seriesKey(labels);
      let entry = byLabels.get(key);
      if (!entry) {
        entry = { labels: { ...labels }, value: 0, observations: [] };
        byLabels.set(key, entry);
      }
      return entry;
    };
  }

  return {
    gauge(options: MetricOptions): Gauge {
      const entry = register('gauge', options);
      return {
        set: (value, labels) => {
          entry(labels).value = value;
        },
      };
    },
    counter(options: MetricOptions): Counter {
      const entry = register('counter', options);
      return {
        inc: (labels, value = 1) => {
          if (value < 0) throw new ValidationError('a counter only goes up', { name: options.name });
          entry(labels).value += value;
        },
      };
    },
    histogram(options: HistogramOptions): Histogram {
      const entry = register('histogram', options);
      return {
        observe: (value, labels) => {
          const e = entry(labels);
          e.observations.push(value);
          e.value += value;
        },
      };
    },
    value: (name, labels) => series.get(name)?.get(seriesKey(labels))?.value,
    observations: (name, labels) => series.get(name)?.get(seriesKey(labels))?.observations ?? [],
    samples: () =>
      [...series.entries()].flatMap(([name, byLabels]) =>
        [...byLabels.values()].map((e) => ({
          name,
          labels: e.labels,
          value: e.value,
          ...(kinds.get(name) === 'histogram' && { observations: [...e.observations] }),
        })),
      ),
  };
}
