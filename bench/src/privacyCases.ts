import { createCryptoShredding, type KeyStore, type NewEvent } from '@tidemark/core';
import type { Backend, ClosableTarget } from './backend.js';
import { type BenchResult, benchResult, printResult } from './benchResult.js';
import { measure } from './measure.js';
import type { WorkloadDefinition } from './workload.js';

/** Customers the encrypted appends belong to: their keys exist (made untimed), as in a running shop. */
const customers = 100;

/** The workload's event with a customer's name and e-mail beside it: the same bytes to write, encrypted or not. */
function depositByCustomer(workload: WorkloadDefinition, i: number): NewEvent {
  const customerId = `customer-${i % customers}`;
  return {
    type: 'customer.deposited',
    data: {
      ...workload.event(i).data,
      customerId,
      name: `Customer Number ${i % customers}`,
      email: `customer.${i % customers}@example.com`,
    },
  };
}

/**
 * Issue 10's `append.single.encrypted`: one writer's single-event appends (a new stream each,
 * as `append.single.1writer`) whose name and e-mail are encrypted with their customer's key,
 * against the same appends in clear on the same store, measured right before. The stage runs as
 * the stores' event pipeline runs it — on the events before the append, synchronously when the
 * key is cached — so the figure is the cost of the encryption itself.
 */
export async function runPrivacyCases(
  workload: WorkloadDefinition,
  backend: Backend,
  store: ClosableTarget,
  keyStore: KeyStore & { close(): unknown },
): Promise<BenchResult[]> {
  const shredding = createCryptoShredding({
    keyStore,
    personalData: { 'customer.deposited': { subject: (data: { customerId: string }) => data.customerId, fields: ['name', 'email'] } },
  });
  const stage = shredding.stage;
  const write = stage.write!;
  try {
    await shredding.ensureKeys(Array.from({ length: customers }, (_, i) => `customer-${i}`));
    const count = workload.cases.single;
    const clear = await measure(count, async () => {
      for (let i = 0; i < count; i++) await store.appendToStream(`clear-${i}`, [depositByCustomer(workload, i)]);
    });
    const encrypted = await measure(count, async () => {
      for (let i = 0; i < count; i++) {
        const streamId = `encrypted-${i}`;
        const events = write([depositByCustomer(workload, i)], streamId);
        await store.appendToStream(streamId, events instanceof Promise ? await events : events);
      }
    });
    const result = benchResult({
      suite: 'store',
      backend: backend.name,
      case: 'append.single.encrypted',
      value: encrypted.rate,
      baseline: 'tidemark-append.single.1writer',
      baselineValue: clear.rate,
      rssMb: encrypted.rssMb,
      baselineRssMb: clear.rssMb,
    });
    printResult(result);
    return [result];
  } finally {
    await keyStore.close();
  }
}
