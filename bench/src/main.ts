import type { Backend } from './backend.js';
import type { BenchResult } from './benchResult.js';
import { runDashboardSuite } from './dashboardSuite.js';
import { medianResults } from './medianResults.js';
import { runOutboxSuite } from './outboxSuite.js';
import { runPeersSuite } from './peersSuite.js';
import { postgresBackend } from './postgresBackend.js';
import { runProjectionsSuite } from './projectionsSuite.js';
import { resultTable } from './resultTable.js';
import { sqliteBackend } from './sqliteBackend.js';
import { runStoreSuite } from './storeSuite.js';
import { runTransportSuite } from './transportSuite.js';
import { loadWorkload, scaleWorkload, type WorkloadDefinition } from './workload.js';

const usage = `usage: npm run bench -- <suite…> [--quick] [--backend sqlite|postgres] [--rounds N]
  suites: store, peers, projections, transport, outbox, dashboard (sagas and e2e are not written yet)
  --quick (or BENCH_QUICK=1): a tenth of every count, to check the harness; not for BENCHMARKS.md
  --rounds N: run the suites N times; the table shows each case's median (JSON lines: every round)`;

const suites: Record<string, (workload: WorkloadDefinition, backends: readonly Backend[]) => Promise<BenchResult[]>> = {
  store: runStoreSuite,
  peers: runPeersSuite,
  projections: runProjectionsSuite,
  transport: runTransportSuite,
  outbox: runOutboxSuite,
  // A log of 1,000,000 events, or 100,000 with --quick (the case keeps its name).
  dashboard: (_workload, backends) => runDashboardSuite(backends, quick ? 100_000 : 1_000_000),
};

const args = process.argv.slice(2);
const quick = args.includes('--quick') || process.env.BENCH_QUICK === '1';
const backendIndex = args.indexOf('--backend');
const only = backendIndex === -1 ? undefined : args[backendIndex + 1];
const roundsIndex = args.indexOf('--rounds');
const rounds = roundsIndex === -1 ? 1 : Number(args[roundsIndex + 1]);
const values = new Set([backendIndex, roundsIndex].filter((i) => i !== -1).map((i) => i + 1));
const names = args.filter((arg, i) => !arg.startsWith('--') && !values.has(i));
const unknown = names.filter((name) => !(name in suites));
const badRounds = !Number.isSafeInteger(rounds) || rounds < 1;
if (names.length === 0 || unknown.length > 0 || badRounds || (only !== undefined && only !== 'sqlite' && only !== 'postgres')) {
  if (unknown.length > 0) console.error(`unknown suite: ${unknown.join(', ')}`);
  console.error(usage);
  process.exit(2);
}

const { workload: shared, source } = await loadWorkload();
const workload = scaleWorkload(shared, quick ? 10 : 1);
console.error(`workload: ${source}${quick ? ' (quick mode: counts divided by 10)' : ''}`);
const backends = [sqliteBackend(), postgresBackend()].filter((backend) => only === undefined || backend.name === only);

const results: BenchResult[] = [];
for (let round = 1; round <= rounds; round++) {
  if (rounds > 1) console.error(`round ${round} of ${rounds}`);
  for (const name of names) results.push(...(await suites[name]!(workload, backends)));
}
// The table follows the JSON lines on stdout; none of its lines starts with '{'.
if (rounds > 1) console.log(`\nmedian of ${rounds} rounds:`);
console.log(`\n${resultTable(medianResults(results))}`);
