/** A latency line of the projections suite: the JSON-lines shape of DESIGN.md §6 with unit ms. */
export interface LagResult {
  suite: 'projections';
  backend: string;
  case: string;
  unit: 'ms';
  value: number;
  baseline: string;
  baselineValue: number;
  /** ours / baseline: for a latency, ≤ 1 means as fast as the baseline. */
  ratio: number | null;
}

/** Nearest-rank percentile of `samples` (q in 0..1); 0 for no samples. */
export function percentile(samples: readonly number[], q: number): number {
  if (samples.length === 0) return 0;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

// The targets: append → read-model lag p99.
const lagTargets: Record<string, number> = { sqlite: 20, postgres: 50 };

/** The human-readable lag table (no line starts with '{'). */
export function lagTable(results: readonly LagResult[]): string {
  const rows = results.map((r) => {
    const target = r.case.includes('p99') ? lagTargets[r.backend] : undefined;
    const verdict = target === undefined ? '' : `≤${target} ms: ${r.value <= target ? 'met' : 'MISSED'}`;
    return [r.backend, r.case, r.value.toFixed(2), r.baseline, r.baselineValue.toFixed(2), r.ratio?.toFixed(2) ?? '—', verdict];
  });
  const header = ['backend', 'case', 'ms', 'baseline', 'baseline ms', 'ratio', 'target'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]?.length ?? 0)));
  const format = (cells: readonly string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [format(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(format)].join('\n');
}
