import type { Backend, ClosableTarget } from './backend.js';
import { type BenchResult, benchResult, printResult } from './benchResult.js';
import { type Measurement, measure } from './measure.js';
import { runPrivacyCases } from './privacyCases.js';
import { runSnapshotCases } from './snapshotCases.js';
import { runVersioningCases } from './versioningCases.js';
import type { WorkloadDefinition } from './workload.js';
import { type WorkloadCase, warmUp, workloadCases } from './workloadCases.js';

export interface CaseMeasurement extends Measurement {
  case: string;
}

/**
 * The store suite: for each backend, the raw-driver baseline and tidemark's adapter run the
 * workload side by side, each on its own fresh storage, case by case — the baseline right
 * before tidemark — so both meet the same moment of a shared machine's noise.
 */
export async function runStoreSuite(workload: WorkloadDefinition, backends: readonly Backend[]): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  for (const backend of backends) {
    const reason = await backend.unavailable();
    if (reason) {
      console.error(`store: skipping ${backend.name}: ${reason}`);
      continue;
    }
    const opened: ClosableTarget[] = [];
    try {
      const raw = await backend.openBaseline();
      opened.push(raw);
      const ours = await backend.openOurs();
      opened.push(ours);
      await warmUp(raw, workload);
      await warmUp(ours, workload);
      for (const workloadCase of workloadCases(workload, { concurrent: backend.concurrent, callers: backend.callers })) {
        const base = await runCase(raw, workloadCase);
        const mine = await runCase(ours, workloadCase);
        const result = benchResult({
          suite: 'store',
          backend: backend.name,
          case: workloadCase.name,
          value: mine.rate,
          baseline: backend.baseline,
          baselineValue: base.rate,
          rssMb: mine.rssMb,
          baselineRssMb: base.rssMb,
        });
        printResult(result);
        results.push(result);
      }
      results.push(...(await runVersioningCases(workload, backend)));
      results.push(...(await runSnapshotCases(backend.name, ours, backend.snapshots(ours), workload)));
      results.push(...(await runPrivacyCases(workload, backend, ours, await backend.openKeyStore())));
    } finally {
      for (const target of opened.reverse()) await target.close();
      await backend.cleanup();
    }
  }
  return results;
}

/** Untimed preparation, then the timed case. */
export async function runCase(target: ClosableTarget, workloadCase: WorkloadCase): Promise<CaseMeasurement> {
  await workloadCase.prepare?.(target);
  return { case: workloadCase.name, ...(await measure(workloadCase.events, () => workloadCase.run(target))) };
}

/** tidemark alone on one backend (the peers suite compares it with Emmett instead of a raw driver). */
export async function runOurs(workload: WorkloadDefinition, backend: Backend): Promise<CaseMeasurement[]> {
  const ours = await backend.openOurs();
  try {
    await warmUp(ours, workload);
    const measured: CaseMeasurement[] = [];
    for (const workloadCase of workloadCases(workload, { concurrent: backend.concurrent }))
      measured.push(await runCase(ours, workloadCase));
    return measured;
  } finally {
    await ours.close();
    await backend.cleanup();
  }
}
