import { type Consumer, createIdempotentHandler, createLogMessageConsumer, createOutboxRelay, type DeliveredMessage } from '@tidemark/core';
import { type BenchResult, benchResult } from './benchResult.js';
import { latencies, openLoop, percentile, until } from './openLoop.js';
import type { BenchBroker } from './outboxBrokers.js';
import { depositMapper } from './outboxRelayCases.js';
import type { BenchTx, OutboxBenchStore } from './outboxStores.js';
import { consumeConcurrency } from './transportConsumeCases.js';
import { benchMessageType } from './transportMessages.js';
import type { WorkloadDefinition } from './workload.js';

/** Appends scheduled per second (the issue's steady rate). */
export const latencyRate = 1000;
const warmUpEvents = 50;

/**
 * Append → consumer effect committed, in an open model: append i is scheduled at t0 + i ms
 * (1,000 events/s) and fired then whether or not earlier ones have finished, so a slow moment
 * queues work as real traffic would instead of slowing the offered rate (no coordinated
 * omission). Each append is one event in its own transaction (`appendToStream`); the consumer
 * writes one effect row per message through the inbox (effect + inbox record [+ checkpoint] in
 * one transaction). Latency = when that transaction committed − the scheduled time.
 *
 * Embedded (no broker): the durable in-process consumer reads the log from its checkpoint.
 * With a broker: the log relay publishes to it and a consumer group applies each message
 * through `createIdempotentHandler`.
 *
 * The baseline is the same percentile of the appends' own commits (scheduled time → the append
 * resolved) in the same run: the ratio is what delivery adds on top of the durable write.
 */
export async function latencyCase(
  bench: OutboxBenchStore,
  broker: BenchBroker | undefined,
  workload: WorkloadDefinition,
  events: number,
): Promise<BenchResult[]> {
  const { store, inbox, checkpoints } = bench;
  const effects = bench.table('bench_effects');
  await store.transaction((tx) => tx.sql.execute(`CREATE TABLE ${effects} (message_id TEXT PRIMARY KEY, i INTEGER NOT NULL)`));

  // Commit times of effects, by event index (negative indexes are the warm-up's).
  const effectAt = new Map<number, number>();
  let warmedUp = 0;
  const committed = (i: number, at: number) => {
    if (i < 0) warmedUp++;
    else if (!effectAt.has(i)) effectAt.set(i, at);
  };
  const apply = async (message: DeliveredMessage, tx: BenchTx) => {
    await tx.sql.execute(`INSERT INTO ${effects} (message_id, i) VALUES ($1, $2)`, [message.id, (message.data as { i: number }).i]);
  };

  let stopConsumer: () => Promise<void>;
  let stopRelay = async () => {};
  if (!broker) {
    // Indexes applied in the batch transaction in flight, stamped once it committed.
    const inFlight: number[] = [];
    const consumer = createLogMessageConsumer({
      consumer: 'bench-effects',
      store,
      checkpoints,
      inbox,
      mapper: depositMapper,
      batchSize: 100,
      async handle(message, tx) {
        await apply(message, tx);
        inFlight.push((message.data as { i: number }).i);
      },
      onBatch() {
        const at = performance.now();
        for (const i of inFlight.splice(0)) committed(i, at);
      },
    });
    await consumer.start();
    stopConsumer = () => consumer.stop();
  } else {
    // The consuming service has its own connections: its transactions do not wait for the producer's
    // pool. It takes as many messages at once as the transport suite's consumers (64): with fewer,
    // the JetStream consumer's pulls (as many messages as it has room for, each pull awaited)
    // fell behind 1,000/s here.
    const consumerStore = await bench.sibling();
    const handler = createIdempotentHandler({ store: consumerStore, inbox, consumer: 'bench-effects', handle: apply });
    const consumer: Consumer = await broker.transport.consume(
      { group: 'bench-effects', types: [benchMessageType], concurrency: consumeConcurrency },
      async (message) => {
        await handler(message);
        committed((message.data as { i: number }).i, performance.now());
      },
    );
    stopConsumer = () => consumer.stop();
    const relay = createOutboxRelay({
      name: 'bench-latency-relay',
      store,
      transport: broker.transport,
      source: { kind: 'log', checkpoints, mapper: depositMapper },
      batchSize: 100,
      metricsIntervalMs: 3_600_000,
      cleanupIntervalMs: 3_600_000,
      onError: (error) => console.error(`outbox: relay retrying: ${(error as Error).message}`),
    });
    await relay.start();
    stopRelay = () => relay.stop();
  }

  const append = (i: number) =>
    store.appendToStream(`account-${((i % 100) + 100) % 100}`, [{ type: 'MoneyDeposited', data: { ...workload.event(i).data, i } }]);
  try {
    // Warm-up, untimed: connections, JIT, the consumer's subscription.
    for (let k = 1; k <= warmUpEvents; k++) await append(-k);
    await until(() => warmedUp >= warmUpEvents, 30_000, 'warm-up');

    const run = await openLoop(events, latencyRate, append, `${bench.name}${broker ? `+${broker.name}` : ''} append`);
    await until(() => effectAt.size >= events - run.failed, 120_000, 'delivery of every effect');
    const effectLatency = latencies(run, events, (i) => effectAt.get(i));
    const appendLatency = latencies(run, events, (i) => run.resolvedAt[i]);
    const backend = broker ? `${bench.name}+${broker.name}` : bench.name;
    return [50, 99].map((p) =>
      benchResult({
        suite: 'outbox',
        backend,
        case: `append-to-effect.${latencyRate}ps.p${p}`,
        value: percentile(effectLatency, p),
        baseline: 'append-committed',
        baselineValue: percentile(appendLatency, p),
        unit: 'ms',
      }),
    );
  } finally {
    await stopRelay();
    await stopConsumer();
  }
}
