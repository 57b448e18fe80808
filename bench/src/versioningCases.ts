import { createEventRegistry, type EventStore, type NewEvent } from '@tidemark/core';
import { z } from 'zod';
import type { Backend } from './backend.js';
import { type BenchResult, benchResult, printResult } from './benchResult.js';
import { measure } from './measure.js';
import type { MoneyDeposited, WorkloadDefinition } from './workload.js';

/** The workload's event as v1 of a three-version chain: v2 adds a fee, v3 renames note to memo. */
const addFee = (data: MoneyDeposited) => ({ ...data, fee: 0 });
const renameNote = ({ note, ...rest }: MoneyDeposited & { fee: number }) => ({ ...rest, memo: note });

function upcastingRegistry() {
  return createEventRegistry().event('MoneyDeposited', {
    versions: { 1: null, 2: null, 3: null },
    upcasters: { 1: addFee, 2: renameNote },
  });
}

/** The workload's event with a zod schema on its only version: every append is validated. */
function validatingRegistry() {
  return createEventRegistry({ strict: true }).event('MoneyDeposited', {
    versions: { 1: z.strictObject({ amount: z.number().int(), currency: z.string().length(3), note: z.string(), i: z.number().int() }) },
  });
}

async function readEverything(store: EventStore): Promise<void> {
  let count = 0;
  for await (const _event of store.readAll()) count++;
  if (count === 0) throw new Error('read nothing');
}

/**
 * The baseline of read.upcast: the same log read as stored, each event brought to v3 by hand with
 * the same two functions. The upcasters' own work (object rest and spread: measured at about
 * 2.5 µs per event, as much as the read) is then on both sides, and the ratio is what the
 * registry adds: finding the chain, stepping through it, the event envelope.
 */
async function readUpcastingByHand(store: EventStore): Promise<void> {
  let count = 0;
  for await (const event of store.readAll()) {
    const upcast = { ...event, schemaVersion: 3, data: renameNote(addFee(event.data as MoneyDeposited)) };
    if (upcast.data.memo !== undefined) count++;
  }
  if (count === 0) throw new Error('read nothing');
}

async function appendSingles(store: EventStore, workload: WorkloadDefinition, count: number, prefix: string): Promise<void> {
  for (let i = 0; i < count; i++) await store.appendToStream(`${prefix}-${i}`, [workload.event(i)]);
}

/**
 * Issue 10's versioning figures, each against tidemark without stages on the same backend in the
 * same run (the baseline measured right before): `read.upcast` is readAll of a log of v1 events
 * through a two-step upcaster chain against the same log read as stored and upcast by hand with
 * the same functions (readUpcastingByHand);
 * `append.single.validated` is one writer's single-event appends checked by a zod schema
 * against `append.single.1writer` unchecked.
 */
export async function runVersioningCases(workload: WorkloadDefinition, backend: Backend): Promise<BenchResult[]> {
  const plain = await backend.openOurs({ name: 'plain' });
  const upcasting = await backend.openOurs({ name: 'upcast', stages: [upcastingRegistry().stage] });
  const validated = await backend.openOurs({ name: 'validated', stages: [validatingRegistry().stage] });
  const results: BenchResult[] = [];
  const report = (name: string, value: number, baseline: string, baselineValue: number) => {
    const result = benchResult({ suite: 'store', backend: backend.name, case: name, value, baseline, baselineValue });
    printResult(result);
    results.push(result);
  };
  try {
    const [size, total] = workload.cases.batch;
    for (const store of [plain, upcasting]) {
      for (let i = 0; i < total; i += size) {
        const batch: NewEvent[] = Array.from({ length: Math.min(size, total - i) }, (_, k) => ({
          ...workload.event(i + k),
          schemaVersion: 1,
        }));
        await store.appendToStream(`read-${i / size}`, batch);
      }
      // Untimed: the first read warms the statements and the page cache alike for both.
      await readEverything(store);
    }
    const readByHand = await measure(total, () => readUpcastingByHand(plain));
    const readUpcast = await measure(total, () => readEverything(upcasting));
    report('read.upcast', readUpcast.rate, 'tidemark-read.plain+upcast-by-hand', readByHand.rate);

    const count = workload.cases.single;
    await plain.appendToStream('warmup-validated', [workload.event(0)]);
    await validated.appendToStream('warmup-validated', [workload.event(0)]);
    const unchecked = await measure(count, () => appendSingles(plain, workload, count, 'single'));
    const checked = await measure(count, () => appendSingles(validated, workload, count, 'single'));
    report('append.single.validated', checked.rate, 'tidemark-append.single.1writer', unchecked.rate);
  } finally {
    for (const store of [validated, upcasting, plain]) await store.close();
  }
  return results;
}
