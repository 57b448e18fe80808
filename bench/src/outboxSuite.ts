import type { BenchResult } from './benchResult.js';
import { printResult } from './benchResult.js';
import { type BenchBroker, openJetStreamBroker, openRabbitBroker } from './outboxBrokers.js';
import { latencyCase, latencyRate } from './outboxLatencyCases.js';
import { peerCases } from './outboxPeerCases.js';
import { relayThroughputCase } from './outboxRelayCases.js';
import { type OutboxBenchStore, openPostgresOutboxStore, openSqliteOutboxStore } from './outboxStores.js';
import { batches } from './transportMessages.js';
import type { WorkloadDefinition } from './workload.js';

type Opener<T> = () => Promise<T>;

/** Runs one case on a fresh store and a fresh broker (when it needs one), removing both afterwards. */
async function onFresh<T>(
  openStore: Opener<OutboxBenchStore>,
  openBroker: Opener<BenchBroker> | undefined,
  work: (store: OutboxBenchStore, broker: BenchBroker | undefined) => Promise<T>,
): Promise<T> {
  const store = await openStore();
  let broker: BenchBroker | undefined;
  try {
    broker = openBroker && (await openBroker());
    return await work(store, broker);
  } finally {
    await broker?.dispose().catch((error: unknown) => console.error(`outbox: broker cleanup failed: ${(error as Error).message}`));
    await store.dispose().catch((error: unknown) => console.error(`outbox: store cleanup failed: ${(error as Error).message}`));
  }
}

/**
 * The outbox suite (issue 9): relay throughput to JetStream and RabbitMQ against the raw
 * clients' acknowledged publishing, for the outbox table and the log form on both stores; then
 * append → effect latency at a steady 1,000 events/s, embedded and through both brokers; then the
 * peer, graphile-worker, against the outbox table with the in-process consumer on PostgreSQL.
 * Each case gets its own schema or file, stream and queues. A case whose service is missing is
 * skipped with a message on stderr, as the transport suite does.
 */
export async function runOutboxSuite(workload: WorkloadDefinition, backends: readonly { name: string }[]): Promise<BenchResult[]> {
  const stores: Array<[string, Opener<OutboxBenchStore>]> = [
    ['sqlite', openSqliteOutboxStore],
    ['postgres', openPostgresOutboxStore],
  ];
  const wanted = stores.filter(([name]) => backends.some((b) => b.name === name));
  const brokers: Array<[string, Opener<BenchBroker>]> = [
    ['jetstream', openJetStreamBroker],
    ['rabbitmq', openRabbitBroker],
  ];
  const cases: Array<[string, () => Promise<BenchResult[]>]> = [];
  for (const [storeName, openStore] of wanted) {
    for (const form of ['table', 'log'] as const) {
      for (const [brokerName, openBroker] of brokers) {
        cases.push([
          `relay ${form} ${storeName} → ${brokerName}`,
          () =>
            onFresh(openStore, openBroker, async (store, broker) => [await relayThroughputCase(store, broker!, form, batches(workload))]),
        ]);
      }
    }
  }
  // 10 s at 1,000 events/s in the full run, 1 s with --quick.
  const events = workload.cases.batch[1] / 5;
  for (const [storeName, openStore] of wanted) {
    cases.push([
      `latency ${storeName} embedded`,
      () => onFresh(openStore, undefined, (store) => latencyCase(store, undefined, workload, events)),
    ]);
  }
  if (wanted.some(([name]) => name === 'postgres')) {
    for (const [brokerName, openBroker] of brokers) {
      cases.push([
        `latency postgres → ${brokerName}`,
        () => onFresh(openPostgresOutboxStore, openBroker, (store, broker) => latencyCase(store, broker, workload, events)),
      ]);
    }
  }
  if (wanted.some(([name]) => name === 'postgres')) {
    cases.push(['peer graphile-worker', () => peerCases(openPostgresOutboxStore, workload, events, latencyRate)]);
  }
  console.error(
    `outbox: ${cases.length} cases; relay: ${workload.cases.batch[1]} messages each; latency: ${events} appends at ${latencyRate}/s`,
  );
  const results: BenchResult[] = [];
  for (const [name, run] of cases) {
    try {
      for (const result of await run()) {
        printResult(result);
        results.push(result);
      }
    } catch (error) {
      console.error(`outbox: skipping ${name}: ${(error as Error).message}`);
    }
  }
  return results;
}
