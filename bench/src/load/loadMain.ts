/**
 * `npm run load -- [--rate N | --concurrency C] --seconds S [--url URL] [--mix shop|deposits] [--warmup S] [--no-baseline]`
 *
 * Drives the shop over HTTP (loopback) and prints JSON lines plus a table: commands/s, latency
 * p50/p95/p99, responses by status and append → read-model lag (a tenth of the commands are
 * read back with `minPosition`, which the shop holds until the projector has passed). Without --url it starts the
 * shop itself (`examples/shop/src/main.ts`, as `npm start` does) on a fresh DATA_DIR — on
 * PostgreSQL when DATABASE_URL is set. The baseline, in the same run and with the same load: a
 * bare fastify server answering the same requests with no work. Each target first gets `--warmup`
 * seconds (default 5) of the same traffic, not measured.
 */

import { type LoadResult, runLoad } from './runLoad.js';
import { type ServerProcess, startNoopServer, startShop } from './serverProcess.js';
import { createShopTraffic, type ShopRequest } from './shopTraffic.js';

const usage =
  'usage: npm run load -- [--rate N | --concurrency C] --seconds S [--url URL] [--mix shop|deposits] [--warmup S] [--no-baseline]';
const args = process.argv.slice(2);
const value = (name: string) => {
  const i = args.indexOf(name);
  return i === -1 ? undefined : args[i + 1];
};
const rate = value('--rate') === undefined ? undefined : Number(value('--rate'));
const concurrency = value('--concurrency') === undefined ? undefined : Number(value('--concurrency'));
const seconds = Number(value('--seconds') ?? 10);
// The same traffic, unmeasured, first: a fresh process's JIT and pool growth are not the steady
// state. On PostgreSQL at 64 connections the shop's balance projector falls ~2,500 events behind
// in the first second and needs ~4 s to catch up (measured 2026-11-30): hence 5 s.
const warmupSeconds = Number(value('--warmup') ?? 5);
const mix = value('--mix') ?? 'shop';
const positive = (n: number | undefined) => n === undefined || (Number.isFinite(n) && n > 0);
if (
  (rate === undefined) === (concurrency === undefined) ||
  !positive(rate) ||
  !positive(concurrency) ||
  !positive(seconds) ||
  !(Number.isFinite(warmupSeconds) && warmupSeconds >= 0) ||
  !['shop', 'deposits'].includes(mix)
) {
  console.error(usage);
  process.exit(2);
}
const url = value('--url');
const backend = url ? 'url' : process.env.DATABASE_URL ? 'postgres' : 'sqlite';
const caseName = `${mix}.${rate !== undefined ? `rate${rate}` : `${concurrency}concurrent`}`;

/** Deposits only, to the 64 hot accounts: the issue's "deposit commands". */
function depositTraffic() {
  const shop = createShopTraffic();
  return {
    setUp: () => shop.setUp(),
    next(): ShopRequest {
      for (;;) {
        const request = shop.next();
        if (request.kind === 'account.deposit') return request;
      }
    },
  };
}
const traffic = () => (mix === 'deposits' ? depositTraffic() : createShopTraffic());

/** A tenth of the commands are read back (as a client reading its own write would). */
async function measure(server: ServerProcess | undefined, target: string, lagSample: number): Promise<LoadResult> {
  try {
    return await runLoad({
      url: target,
      seconds,
      warmupSeconds,
      traffic: traffic(),
      lagSample,
      ...(rate !== undefined ? { rate } : { concurrency }),
    });
  } finally {
    await server?.stop();
  }
}

// The baseline first, then the shop: the same load, minutes apart at most.
let baseline: LoadResult | undefined;
if (!args.includes('--no-baseline')) {
  const noop = await startNoopServer();
  baseline = await measure(noop, noop.url, 0);
}
const shop = url ? undefined : await startShop(process.env);
const ours = await measure(shop, url ?? shop!.url, 0.1);

const lines = [
  {
    suite: 'load',
    backend,
    case: caseName,
    unit: 'commands/s',
    value: ours.commandsPerSecond,
    baseline: 'fastify-noop',
    baselineValue: baseline?.commandsPerSecond ?? null,
    ratio: baseline ? round(ours.commandsPerSecond / baseline.commandsPerSecond) : null,
  },
  ...(['p50', 'p95', 'p99'] as const).map((q) => ({
    suite: 'load',
    backend,
    case: `${caseName}.latency.${q}`,
    unit: 'ms',
    value: ours.latencyMs[q],
    baseline: 'fastify-noop',
    baselineValue: baseline?.latencyMs[q] ?? null,
    ratio: baseline && baseline.latencyMs[q] > 0 ? round(ours.latencyMs[q] / baseline.latencyMs[q]) : null,
  })),
  ...(['p50', 'p95', 'p99'] as const).map((q) => ({
    suite: 'load',
    backend,
    case: `${caseName}.lag.${q}`,
    unit: 'ms',
    value: ours.lagMs?.[q] ?? null,
  })),
  // Read-backs the read model did not answer within the shop's read-your-writes timeout.
  { suite: 'load', backend, case: `${caseName}.lag.timeouts`, unit: 'read-backs', value: ours.lagTimeouts ?? null },
  {
    suite: 'load',
    backend,
    case: `${caseName}.statuses`,
    unit: 'responses',
    value: ours.statuses,
    baselineValue: baseline?.statuses ?? null,
  },
];
for (const line of lines) console.log(JSON.stringify(line));

const row = (name: string, result: LoadResult | undefined) =>
  result
    ? `| ${name} | ${result.commandsPerSecond.toLocaleString('en')} | ${result.latencyMs.p50} | ${result.latencyMs.p95} | ${result.latencyMs.p99} | ${result.latencyMs.max} | ${
        result.lagMs ? `${result.lagMs.p50} / ${result.lagMs.p95} / ${result.lagMs.p99}` : '—'
      } | ${Object.entries(result.statuses)
        .map(([status, n]) => `${status}: ${n}`)
        .join(', ')} |`
    : '';
console.log(`\n${caseName} for ${seconds} s after ${warmupSeconds} s of warm-up (${backend})\n`);
console.log('| target | commands/s | p50 ms | p95 ms | p99 ms | max ms | lag p50 / p95 / p99 ms | responses |');
console.log('|---|---:|---:|---:|---:|---:|---|---|');
console.log(row(backend === 'url' ? url! : `shop (${backend})`, ours));
if (baseline) console.log(row('fastify-noop', baseline));

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
