import type { BenchResult } from './benchResult.js';
import { checkTargets } from './targets.js';

/** The human-readable table printed after the JSON lines; none of its lines starts with `{`. */
export function resultTable(results: readonly BenchResult[]): string {
  const header = ['suite', 'backend', 'case', 'unit', 'value', 'baseline', 'baseline value', 'ratio', 'rss MB', 'target'];
  const rows = results.map((r) => [
    r.suite,
    r.backend,
    r.case,
    r.unit,
    r.value.toLocaleString('en'),
    r.baseline,
    r.baselineValue === null ? '—' : r.baselineValue.toLocaleString('en'),
    r.ratio === null ? '—' : r.ratio.toFixed(2),
    r.rssMb === undefined ? '' : String(r.rssMb),
    checkTargets(r),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]?.length ?? 0)));
  const numeric = new Set([4, 6, 7, 8]);
  const format = (cells: readonly string[]) =>
    `| ${cells.map((cell, i) => (numeric.has(i) ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (numeric.has(i) ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
  return [format(header), rule, ...rows.map(format)].join('\n');
}
