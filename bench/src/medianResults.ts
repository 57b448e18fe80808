import type { BenchResult } from './benchResult.js';

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/**
 * One row per suite/backend/case with the median of its rounds. Each case lasts a second or
 * two, so on a shared machine one round can swing by ±20%: the median of several rounds is the
 * figure worth recording. The ratio is the median of the per-round ratios (each taken beside
 * its own baseline), not a ratio of medians.
 */
export function medianResults(results: readonly BenchResult[]): BenchResult[] {
  const groups = new Map<string, BenchResult[]>();
  for (const result of results) {
    const key = `${result.suite}\u0000${result.backend}\u0000${result.case}`;
    const group = groups.get(key);
    if (group) group.push(result);
    else groups.set(key, [result]);
  }
  return [...groups.values()].map((group) => {
    const first = group[0] as BenchResult;
    if (group.length === 1) return first;
    const of = (pick: (r: BenchResult) => number | null | undefined) => {
      const values = group.map(pick).filter((v): v is number => typeof v === 'number');
      return values.length === 0 ? undefined : median(values);
    };
    const baselineValue = of((r) => r.baselineValue);
    const ratio = of((r) => r.ratio);
    const rssMb = of((r) => r.rssMb);
    // Latencies (ms) keep a decimal, rates are whole, as in benchResult.
    const round = (v: number) => (first.unit === 'ms' ? Math.round(v * 10) / 10 : Math.round(v));
    const result: BenchResult = {
      ...first,
      value: round(of((r) => r.value) ?? 0),
      baselineValue: baselineValue === undefined ? null : round(baselineValue),
      ratio: ratio === undefined ? null : Math.round(ratio * 100) / 100,
    };
    if (rssMb !== undefined) result.rssMb = Math.round(rssMb);
    return result;
  });
}
