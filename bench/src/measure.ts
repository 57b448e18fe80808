export interface Measurement {
  /** Events per second over the whole case. */
  rate: number;
  /** Highest resident set size seen while the case ran (process-wide, so it includes the harness). */
  rssMb: number;
}

/**
 * Times `work` and samples RSS beside it. `process.resourceUsage().maxRSS` would give the peak of the
 * whole process lifetime, not of one case, hence the sampling timer; a synchronous stretch (a
 * better-sqlite3 fold) can hide a short spike from it, which is why the value is read again at the end.
 */
export async function measure(events: number, work: () => Promise<void>): Promise<Measurement> {
  let peak = process.memoryUsage.rss();
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 20);
  const started = performance.now();
  try {
    await work();
  } finally {
    clearInterval(sampler);
  }
  const seconds = (performance.now() - started) / 1000;
  peak = Math.max(peak, process.memoryUsage.rss());
  return { rate: events / seconds, rssMb: peak / 2 ** 20 };
}
