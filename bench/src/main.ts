import type { Backend } from './backend.js';
import type { BenchResult } from './benchResult.js';
import { runPeersSuite } from './peersSuite.js';
import { postgresBackend } from './postgresBackend.js';
import { runProjectionsSuite } from './projectionsSuite.js';
import { resultTable } from './resultTable.js';
import { sqliteBackend } from './sqliteBackend.js';
import { runStoreSuite } from './storeSuite.js';
import { loadWorkload, scaleWorkload, type WorkloadDefinition } from './workload.js';

const usage = `usage: npm run bench -- <suite…> [--quick] [--backend sqlite|postgres]
  suites: store, peers, projections (outbox, sagas and e2e are not written yet)
  --quick (or BENCH_QUICK=1): a tenth of every count, to check the harness; not for BENCHMARKS.md`;

const suites: Record<string, (workload: WorkloadDefinition, backends: readonly Backend[]) => Promise<BenchResult[]>> = {
  store: runStoreSuite,
  peers: runPeersSuite,
  projections: runProjectionsSuite,
};

const args = process.argv.slice(2);
const quick = args.includes('--quick') || process.env.BENCH_QUICK === '1';
const backendIndex = args.indexOf('--backend');
const only = backendIndex === -1 ? undefined : args[backendIndex + 1];
const names = args.filter((arg, i) => !arg.startsWith('--') && (backendIndex === -1 || i !== backendIndex + 1));
const unknown = names.filter((name) => !(name in suites));
if (names.length === 0 || unknown.length > 0 || (only !== undefined && only !== 'sqlite' && only !== 'postgres')) {
  if (unknown.length > 0) console.error(`unknown suite: ${unknown.join(', ')}`);
  console.error(usage);
  process.exit(2);
}

const { workload: shared, source } = await loadWorkload();
const workload = scaleWorkload(shared, quick ? 10 : 1);
console.error(`workload: ${source}${quick ? ' (quick mode: counts divided by 10)' : ''}`);
const backends = [sqliteBackend(), postgresBackend()].filter((backend) => only === undefined || backend.name === only);

const results: BenchResult[] = [];
for (const name of names) results.push(...(await suites[name]!(workload, backends)));
// The table follows the JSON lines on stdout; none of its lines starts with '{'.
console.log(`\n${resultTable(results)}`);
