import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { DomainEvent } from '@tidemark/core';

/** The shared workload's shape: ../shared/bench/peers/workload.mjs, which the Emmett peer runs too. */
export interface WorkloadDefinition {
  event(i: number): DomainEvent<'MoneyDeposited', MoneyDeposited>;
  cases: {
    single: number;
    concurrent: ReadonlyArray<readonly [writers: number, events: number]>;
    batch: readonly [size: number, total: number];
    aggregate: readonly [length: number, repetitions: number];
  };
}

export interface MoneyDeposited {
  amount: number;
  currency: string;
  note: string;
  i: number;
}

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const peersDir = resolve(repoRoot, '../shared/bench/peers');

/** Identical to workload.mjs; used only where the shared file is absent (a fresh clone elsewhere). */
const localWorkload: WorkloadDefinition = {
  event: (i) => ({ type: 'MoneyDeposited', data: { amount: 100, currency: 'USD', note: 'x'.repeat(150), i } }),
  cases: {
    single: 2000,
    concurrent: [
      [8, 4000],
      [32, 6000],
    ],
    batch: [100, 50000],
    aggregate: [1000, 50],
  },
};

/**
 * Loads the shared workload so both sides of every tidemark/Emmett ratio append the very same
 * events to the very same streams; a private copy could drift without anyone noticing.
 */
export async function loadWorkload(): Promise<{ workload: WorkloadDefinition; source: string }> {
  const file = resolve(peersDir, 'workload.mjs');
  if (!existsSync(file)) return { workload: localWorkload, source: 'local copy (shared workload.mjs not found)' };
  const shared = (await import(pathToFileURL(file).href)) as Partial<WorkloadDefinition>;
  if (typeof shared.event !== 'function' || typeof shared.cases !== 'object') {
    throw new Error(`${file} no longer exports event() and cases; update bench/src/workload.ts`);
  }
  return { workload: { event: shared.event, cases: shared.cases }, source: file };
}

/**
 * Quick mode (BENCH_QUICK=1 or --quick) divides every count so a development run takes seconds.
 * Its figures are for checking the harness, not for BENCHMARKS.md.
 */
export function scaleWorkload(workload: WorkloadDefinition, divisor: number): WorkloadDefinition {
  if (divisor === 1) return workload;
  const { single, concurrent, batch, aggregate } = workload.cases;
  const scale = (n: number, multipleOf = 1) => Math.max(multipleOf, Math.round(n / divisor / multipleOf) * multipleOf);
  return {
    event: workload.event,
    cases: {
      single: scale(single),
      concurrent: concurrent.map(([writers, n]) => [writers, scale(n, writers)] as const),
      batch: [batch[0], scale(batch[1], batch[0])],
      aggregate: [aggregate[0], scale(aggregate[1])],
    },
  };
}
