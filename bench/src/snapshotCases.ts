import { type EventStore, loadAggregate, type SnapshotStore, takeSnapshot } from '@tidemark/core';
import type { ClosableTarget } from './backend.js';
import { type BenchResult, benchResult, printResult } from './benchResult.js';
import type { WorkloadDefinition } from './workload.js';
import { balanceEvolver } from './workloadCases.js';

/** Events past the snapshot: on average half of `every` (100) when snapshots are taken every 100. */
const tail = 50;
const appendBatch = 1000;

/** 10k and 100k always; 1M too with BENCH_SNAPSHOT_1M=1 (writing it takes minutes on PostgreSQL). */
export function snapshotLengths(): number[] {
  return process.env.BENCH_SNAPSHOT_1M === '1' ? [10_000, 100_000, 1_000_000] : [10_000, 100_000];
}

/**
 * `aggregate.stream<N>.snapshot` against `aggregate.stream<N>.full`: loading an N-event stream
 * with loadAggregate from a snapshot 50 events before its end, beside folding it whole
 * (aggregateStream, what loading without snapshots does), on the same store in the same run.
 * Unit: milliseconds per load (lower is better), so the ratio is snapshot / full.
 */
export async function runSnapshotCases(
  backend: string,
  target: ClosableTarget,
  snapshots: SnapshotStore,
  workload: WorkloadDefinition,
): Promise<BenchResult[]> {
  const store = target as unknown as EventStore;
  const loads = workload.cases.aggregate[1];
  const folds = Math.max(1, Math.round(loads / 10));
  const results: BenchResult[] = [];
  for (const length of snapshotLengths()) {
    const streamId = `snapshot-${length}`;
    const amount = 10;
    for (let written = 0; written < length; written += appendBatch) {
      const size = Math.min(appendBatch, length - written);
      await store.appendToStream(
        streamId,
        Array.from({ length: size }, () => ({ type: 'money.deposited', data: { amount } })),
      );
    }
    const at = length - tail;
    const [point] = await store.readStream(streamId, { from: at, limit: 1 });
    if (!point) throw new Error(`${streamId} has no version ${at}`);
    const options = { store: snapshots, version: 1, name: 'bench' };
    await takeSnapshot(options, streamId, { balance: at * amount }, point);
    const expected = length * amount;
    const check = (balance: number) => {
      if (balance !== expected) throw new Error(`${streamId} loaded a balance of ${balance}, expected ${expected}`);
    };

    const full = await timePerCall(folds, async () => check((await store.aggregateStream(streamId, balanceEvolver)).state.balance));
    const fromSnapshot = await timePerCall(loads, async () => {
      const loaded = await loadAggregate(store, streamId, balanceEvolver, { snapshots: options });
      if (loaded.snapshotVersion !== at) throw new Error(`${streamId} loaded from version ${loaded.snapshotVersion}, not ${at}`);
      check(loaded.state.balance);
    });
    const result = benchResult({
      suite: 'store',
      backend,
      case: `aggregate.stream${length / 1000}k.snapshot`.replace('1000k', '1m'),
      unit: 'ms',
      value: fromSnapshot,
      baseline: `aggregate.stream${length / 1000}k.full`.replace('1000k', '1m'),
      baselineValue: full,
    });
    printResult(result);
    results.push(result);
  }
  return results;
}

/** Median milliseconds of `times` sequential calls (one untimed call first: statements prepared, pages cached). */
async function timePerCall(times: number, call: () => Promise<void>): Promise<number> {
  await call();
  const samples: number[] = [];
  for (let i = 0; i < times; i++) {
    const started = performance.now();
    await call();
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)] as number;
}
