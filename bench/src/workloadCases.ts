import type { DomainEvent, Evolver, NewEvent } from '@tidemark/core';
import type { MoneyDeposited, WorkloadDefinition } from './workload.js';

export interface Balance {
  balance: number;
}

/**
 * What the workload needs from a store: the two calls workload.mjs makes on Emmett. tidemark's
 * EventStore satisfies it as is; the raw-driver baselines implement it with bare SQL.
 */
export interface WorkloadTarget {
  appendToStream(streamId: string, events: readonly NewEvent[]): Promise<unknown>;
  aggregateStream(streamId: string, evolver: Evolver<DomainEvent, Balance>): Promise<{ state: Balance }>;
  /**
   * A raw baseline's own shape of the concurrent-callers case: `rounds` transactions, each
   * appending event `round` to every stream (as version `round + 1`). A store is measured with
   * concurrent callers instead and must find the grouping by itself.
   */
  appendRoundsInTransactions?(streamIds: readonly string[], rounds: number, event: (i: number) => NewEvent): Promise<void>;
}

export interface WorkloadCase {
  /** The case name of DESIGN.md §6, e.g. `append.single.8writers`. */
  name: string;
  /** Events the timed part handles: the numerator of events/s. */
  events: number;
  /** Untimed set-up (writing the stream an aggregate case folds). */
  prepare?(target: WorkloadTarget): Promise<void>;
  run(target: WorkloadTarget): Promise<void>;
}

/** The fold workload.mjs hands Emmett. */
export const balanceEvolver: Evolver<DomainEvent, Balance> = {
  initialState: () => ({ balance: 0 }),
  evolve: (state, event) => ({ balance: state.balance + (event.data as MoneyDeposited).amount }),
};

/** The untimed first append workload.mjs makes, so connection set-up and statement preparation are not timed. */
export async function warmUp(target: WorkloadTarget, workload: WorkloadDefinition): Promise<void> {
  await target.appendToStream('warmup-1', [workload.event(0)]);
}

/**
 * The cases of workload.mjs's `run()`, in its order, with its stream names and batch sizes, split
 * into separate steps so a baseline can run each case right before tidemark does.
 */
export function workloadCases(workload: WorkloadDefinition, options: { concurrent: boolean; callers?: number }): WorkloadCase[] {
  const { event, cases: counts } = workload;
  const cases: WorkloadCase[] = [
    {
      name: 'append.single.1writer',
      events: counts.single,
      async run(target) {
        for (let i = 0; i < counts.single; i++) await target.appendToStream(`seq-${i}`, [event(i)]);
      },
    },
  ];
  if (options.concurrent) {
    for (const [writers, total] of counts.concurrent) {
      cases.push({
        name: `append.single.${writers}writers`,
        events: total,
        async run(target) {
          // Writers share one counter, exactly as in workload.mjs: each takes the next stream.
          let next = 0;
          const writer = async () => {
            while (next < total) {
              const i = next++;
              await target.appendToStream(`conc${writers}-${i}`, [event(i)]);
            }
          };
          await Promise.all(Array.from({ length: writers }, writer));
        },
      });
    }
  }
  if (options.callers !== undefined) cases.push(concurrentCallersCase(options.callers, counts.single * 6, event));
  const [size, total] = counts.batch;
  cases.push({
    name: `append.batch${size}.1writer`,
    events: total,
    async run(target) {
      for (let i = 0; i < total / size; i++) {
        await target.appendToStream(
          `batch-${i}`,
          Array.from({ length: size }, (_, j) => event(j)),
        );
      }
    },
  });
  const [length, repetitions] = counts.aggregate;
  const expected = length * event(0).data.amount;
  cases.push({
    name: `aggregate.stream${length}`,
    events: length * repetitions,
    async prepare(target) {
      await target.appendToStream(
        'long-1',
        Array.from({ length }, (_, j) => event(j)),
      );
    },
    async run(target) {
      for (let r = 0; r < repetitions; r++) {
        const { state } = await target.aggregateStream('long-1', balanceEvolver);
        // A baseline that folded nothing would look fast; the check costs one comparison per fold.
        if (state.balance !== expected) throw new Error(`long-1 folded to ${state.balance}, expected ${expected}`);
      }
    },
  });
  return cases;
}

/**
 * Issue 13's `append.single.<n>concurrent`: n callers, each appending one event at a time to its
 * own stream and awaiting it before the next — what an HTTP server with n commands in flight
 * does. Its baseline writes the same rows in transactions of n, the physical limit of grouping.
 */
function concurrentCallersCase(callers: number, total: number, event: (i: number) => NewEvent): WorkloadCase {
  const rounds = Math.max(1, Math.round(total / callers));
  const streamIds = Array.from({ length: callers }, (_, c) => `callers${callers}-${c}`);
  return {
    name: `append.single.${callers}concurrent`,
    events: rounds * callers,
    async run(target) {
      if (target.appendRoundsInTransactions) return target.appendRoundsInTransactions(streamIds, rounds, event);
      await Promise.all(
        streamIds.map(async (streamId) => {
          for (let round = 0; round < rounds; round++) await target.appendToStream(streamId, [event(round)]);
        }),
      );
    },
  };
}
