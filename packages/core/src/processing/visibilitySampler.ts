import type { VisibilitySample, VisibilitySource } from '../monitoring/projectionLagMonitor.js';

/** One projector watching a store's readable horizon. */
export interface VisibilityWatcher {
  /** Whether a sample is worth a query now (the projector is running); none wanting one skips it. */
  wanted(): boolean;
  /** The latest sample, or undefined when taking it failed (the figures are then unknown). */
  sampled(sample: VisibilitySample | undefined): void;
}

interface Sampler {
  readonly watchers: Set<VisibilityWatcher>;
  last?: VisibilitySample;
  stop(): void;
}

/** Per key (the store, or the caller's own source), per interval: the sampler its watchers share. */
const samplers = new WeakMap<object, Map<number, Sampler>>();

/**
 * Samples `source` every `intervalMs` for every watcher of the same `key` and interval: the
 * projectors of one store in a process share one query per interval, however many they are, and
 * none is made while no watcher wants it. Off the projector's batch path: a batch never waits
 * for it. A watcher joining a running sampler gets its latest sample at once. Returns the
 * function that stops watching; the last watcher gone stops the timer.
 */
export function watchVisibility(key: object, source: VisibilitySource, intervalMs: number, watcher: VisibilityWatcher): () => void {
  let byInterval = samplers.get(key);
  if (!byInterval) {
    byInterval = new Map();
    samplers.set(key, byInterval);
  }
  const sampler = byInterval.get(intervalMs) ?? startSampler(source, intervalMs, byInterval);
  sampler.watchers.add(watcher);
  if (sampler.last) watcher.sampled(sampler.last);
  let watching = true;
  return () => {
    if (!watching) return;
    watching = false;
    sampler.watchers.delete(watcher);
    if (sampler.watchers.size === 0) sampler.stop();
  };
}

function startSampler(source: VisibilitySource, intervalMs: number, byInterval: Map<number, Sampler>): Sampler {
  let running = false;
  const sampler: Sampler = {
    watchers: new Set(),
    stop() {
      clearInterval(timer);
      if (byInterval.get(intervalMs) === sampler) byInterval.delete(intervalMs);
    },
  };
  const deliver = (sample: VisibilitySample | undefined) => {
    if (sample) sampler.last = sample;
    else delete sampler.last;
    for (const watcher of sampler.watchers) watcher.sampled(sample);
  };
  const timer = setInterval(() => {
    // Never overlap: a slow server would otherwise pile the samples up.
    if (running || ![...sampler.watchers].some((watcher) => watcher.wanted())) return;
    running = true;
    source()
      .then(deliver, () => deliver(undefined))
      .finally(() => {
        running = false;
      });
  }, intervalMs);
  timer.unref?.();
  byInterval.set(intervalMs, sampler);
  return sampler;
}
