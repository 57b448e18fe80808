/** One JSON line of DESIGN.md §6; the field order is the documented one. */
export interface BenchResult {
  suite: string;
  backend: string;
  case: string;
  /** Rates, or milliseconds for the outbox suite's latency percentiles (lower is better). */
  unit: 'events/s' | 'messages/s' | 'ms';
  value: number;
  baseline: string;
  /** Null when the baseline could not run (peer not installable); the line still reports ours. */
  baselineValue: number | null;
  /** value / baselineValue: the figure that survives a noisy shared machine. */
  ratio: number | null;
  /** Peak RSS of the benchmark process while tidemark ran the case. */
  rssMb?: number;
  /** Peak RSS while the baseline ran the case (when it ran in this process). */
  baselineRssMb?: number;
}

export function benchResult(fields: {
  suite: string;
  backend: string;
  case: string;
  value: number;
  baseline: string;
  baselineValue: number | null;
  rssMb?: number;
  baselineRssMb?: number;
  /** Default events/s; the transport suite counts messages. */
  unit?: BenchResult['unit'];
}): BenchResult {
  const { suite, backend, value, baseline, baselineValue, rssMb, baselineRssMb } = fields;
  // Latencies keep a decimal (a p50 of 3.4 ms), rates are whole.
  const round = (v: number) => (fields.unit === 'ms' ? Math.round(v * 10) / 10 : Math.round(v));
  const result: BenchResult = {
    suite,
    backend,
    case: fields.case,
    unit: fields.unit ?? 'events/s',
    value: round(value),
    baseline,
    baselineValue: baselineValue === null ? null : round(baselineValue),
    ratio: baselineValue === null || baselineValue === 0 ? null : Math.round((value / baselineValue) * 100) / 100,
  };
  if (rssMb !== undefined) result.rssMb = Math.round(rssMb);
  if (baselineRssMb !== undefined) result.baselineRssMb = Math.round(baselineRssMb);
  return result;
}

/** Prints the line at once, on stdout, starting with `{`: `grep '^{'` finds every figure. */
export function printResult(result: BenchResult): void {
  console.log(JSON.stringify(result));
}
