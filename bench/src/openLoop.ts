const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The p-th percentile (nearest rank) of ascending values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

/** Resolves once `done()` holds, checking every 2 ms; rejects after `timeoutMs`. */
export async function until(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > deadline) throw new Error(`${what} not done within ${timeoutMs} ms`);
    await sleep(2);
  }
}

export interface OpenLoopRun {
  /** When operation i was due (performance.now() time base): latencies are measured from it. */
  scheduled(i: number): number;
  /** When operation i resolved (undefined if it failed). */
  resolvedAt: ReadonlyArray<number | undefined>;
  failed: number;
}

/**
 * An open model: operation i is due at t0 + i / rate seconds and is started then whether or not
 * earlier ones have finished, so a slow moment queues work as real traffic would instead of
 * lowering the offered rate (no coordinated omission). Resolves once every operation settled.
 */
export async function openLoop(
  count: number,
  ratePerSecond: number,
  fire: (i: number) => Promise<unknown>,
  label: string,
): Promise<OpenLoopRun> {
  const interval = 1000 / ratePerSecond;
  const t0 = performance.now() + 20;
  const scheduled = (i: number) => t0 + i * interval;
  const resolvedAt: Array<number | undefined> = new Array(count);
  let failed = 0;
  const pending: Promise<void>[] = [];
  let next = 0;
  while (next < count) {
    const now = performance.now();
    while (next < count && scheduled(next) <= now) {
      const i = next++;
      pending.push(
        fire(i).then(
          () => {
            resolvedAt[i] = performance.now();
          },
          (error: unknown) => {
            // The first few in full, then only the count (a saturated server fails many alike).
            if (++failed <= 3) console.error(`${label} ${i} failed: ${(error as Error).message}`);
          },
        ),
      );
    }
    await sleep(1);
  }
  await Promise.all(pending);
  if (failed > 0) console.error(`${label}: ${failed} of ${count} failed (left out of the latencies)`);
  return { scheduled, resolvedAt, failed };
}

/** Sorted latencies (ms) from each operation's due time to `at(i)`, for the operations that have one. */
export function latencies(run: OpenLoopRun, count: number, at: (i: number) => number | undefined): number[] {
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const done = at(i);
    if (done !== undefined) out.push(done - run.scheduled(i));
  }
  return out.sort((a, b) => a - b);
}
