import { createMessageMapper, createOutboxRelay, type OutgoingMessage } from '@tidemark/core';
import { type BenchResult, benchResult } from './benchResult.js';
import { until } from './openLoop.js';
import type { BenchBroker } from './outboxBrokers.js';
import type { OutboxBenchStore } from './outboxStores.js';
import { benchMessageType } from './transportMessages.js';

/** The log form's mapping: the workload's private event becomes the same public message as the table form's. */
export const depositMapper = createMessageMapper({
  MoneyDeposited: { type: benchMessageType, data: (event) => event.data, key: (event) => event.streamId },
});

const warmUp = (m: OutgoingMessage): OutgoingMessage => ({ ...m, id: `warm-${m.id}` });

/**
 * Relay throughput: the outbox (the table form, or the log form — the event log itself) is
 * filled with `total` messages first, untimed; then the relay starts and the clock runs until
 * it has confirmed every one (rows marked published, or the checkpoint moved past them), i.e.
 * read, published, acknowledged by the broker and confirmed in the database. The baseline is
 * the raw client publishing the same number of messages of the same size in batches of the
 * same size with the same acknowledgements, before and after the relay, on the same broker — it reads
 * nothing and confirms nothing in a database.
 */
export async function relayThroughputCase(
  bench: OutboxBenchStore,
  broker: BenchBroker,
  form: 'table' | 'log',
  messages: readonly OutgoingMessage[][],
): Promise<BenchResult> {
  const total = messages.reduce((sum, batch) => sum + batch.length, 0);
  const batchSize = messages[0]?.length ?? 100;
  const { store, outbox, checkpoints } = bench;

  // Baseline: a warm-up of a few batches (their own ids: JetStream would drop repeats), then the
  // same messages timed, into the baseline's own stream or queue — once before the relay and once
  // after it (fresh ids), so a shared machine's drift during the case weighs on both sides.
  for (const batch of messages.slice(0, 5)) await broker.rawPublish(batch.map(warmUp));
  let rawMs = 0;
  const timeRaw = async (work: readonly OutgoingMessage[][]) => {
    const began = performance.now();
    for (const batch of work) await broker.rawPublish(batch);
    rawMs += performance.now() - began;
  };
  await timeRaw(messages);

  // Pre-fill, untimed: one transaction per batch, as an application would add them.
  if (form === 'table') {
    for (const batch of messages) await store.transaction((tx) => outbox.add(tx, batch));
  } else {
    // One stream per batch, as the store suite's batch case appends them.
    for (const [n, batch] of messages.entries()) {
      await store.appendToStream(
        `batch-${n}`,
        batch.map((m) => ({ type: 'MoneyDeposited', data: m.data })),
      );
    }
  }

  // Warm the transport's connection outside the timing, as the baseline's warm-up does.
  await broker.transport.publish(messages[0]!.map(warmUp));
  const relayName = `bench-relay-${form}`;
  const relay = createOutboxRelay({
    name: relayName,
    store,
    transport: broker.transport,
    source: form === 'table' ? { kind: 'table', outbox } : { kind: 'log', checkpoints, mapper: depositMapper },
    batchSize,
    pollIntervalMs: 50,
    metricsIntervalMs: 3_600_000,
    cleanupIntervalMs: 3_600_000,
    onError: (error) => console.error(`outbox: relay retrying: ${(error as Error).message}`),
  });
  // Done when the database says so: no unpublished row (table), the checkpoint at the head (log).
  // The relay's own counter is only the cue to start asking: it counts a message published twice
  // twice, so it can pass the total before every row is confirmed.
  const head = form === 'log' ? await store.headPosition() : 0n;
  const drained = async () =>
    form === 'table'
      ? (await store.transaction((tx) => outbox.stats(tx))).backlog === 0
      : ((await store.transaction((tx) => checkpoints.load(relayName, tx)))?.position ?? 0n) >= head;
  const started = performance.now();
  await relay.start();
  try {
    await until(() => relay.status().published >= total, 600_000, 'relay');
    const deadline = performance.now() + 600_000;
    while (!(await drained())) {
      if (performance.now() > deadline) throw new Error('relay did not drain the outbox within 600 s');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  } finally {
    await relay.stop();
  }
  const rate = total / ((performance.now() - started) / 1000);
  await timeRaw(messages.map((batch) => batch.map((m) => ({ ...m, id: `again-${m.id}` }))));
  const rawRate = (2 * total) / (rawMs / 1000);
  const extra = relay.status().published - total;
  if (extra > 0)
    console.error(`outbox: ${bench.name} ${form} → ${broker.name}: ${extra} messages published twice (the broker drops them by id)`);
  return benchResult({
    suite: 'outbox',
    backend: `${bench.name}+${broker.name}`,
    case: `relay.${form}.batch${batchSize}`,
    value: rate,
    baseline: broker.baseline,
    baselineValue: rawRate,
    unit: 'messages/s',
  });
}
