import { randomUUID } from 'node:crypto';
import { jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { nanos, connect as natsConnect } from '@nats-io/transport-node';
import type { OutgoingMessage, Transport } from '@tidemark/core';
import { createNatsTransport } from '@tidemark/nats';
import { createRabbitTransport } from '@tidemark/rabbitmq';
import { connect as amqpConnect } from 'amqplib';
import { type BenchResult, benchResult, printResult } from './benchResult.js';
import { consumeConcurrency, jetstreamConsumeCase, rabbitConsumeCase } from './transportConsumeCases.js';
import { batches, benchMessageType, rawAmqpPublish, rawJetStreamPublish } from './transportMessages.js';
import type { WorkloadDefinition } from './workload.js';

const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const rabbitUrl = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/**
 * Times both sides in alternating slices (raw, ours, raw, ours…) rather than one after the other,
 * so a shared machine's drift and the broker's growing queues weigh on both alike.
 */
async function alternate(
  total: number,
  raw: OutgoingMessage[][],
  mine: OutgoingMessage[][],
  rawBatch: (batch: OutgoingMessage[]) => Promise<void>,
  ourBatch: (batch: OutgoingMessage[]) => Promise<void>,
): Promise<{ base: { rate: number }; measured: { rate: number } }> {
  const slices = 10;
  const per = Math.ceil(raw.length / slices);
  let rawMs = 0;
  let ourMs = 0;
  for (let slice = 0; slice < slices; slice++) {
    let started = performance.now();
    for (const batch of raw.slice(slice * per, (slice + 1) * per)) await rawBatch(batch);
    rawMs += performance.now() - started;
    started = performance.now();
    for (const batch of mine.slice(slice * per, (slice + 1) * per)) await ourBatch(batch);
    ourMs += performance.now() - started;
  }
  return { base: { rate: total / (rawMs / 1000) }, measured: { rate: total / (ourMs / 1000) } };
}

async function publishAll(transport: Transport, work: OutgoingMessage[][]): Promise<void> {
  for (const batch of work) await transport.publish(batch);
}

/**
 * JetStream: tidemark's transport publishing batches of the workload's size, against the raw
 * client publishing the same messages asynchronously with acknowledgements (msgID set, one batch
 * in flight at a time), each into its own file-backed stream of the same configuration.
 */
async function jetstreamCase(workload: WorkloadDefinition, caseName: string): Promise<BenchResult> {
  const nc = await natsConnect({ servers: natsUrl });
  const jsm = await jetstreamManager(nc);
  const unique = randomUUID().replaceAll('-', '');
  const rawStream = `BENCHRAW${unique}`;
  const ourStream = `BENCH${unique}`;
  const ours = await createNatsTransport({ servers: natsUrl, stream: ourStream, subjectPrefix: `bench${unique}` });
  try {
    await jsm.streams.add({
      name: rawStream,
      subjects: [`benchraw${unique}.>`],
      storage: StorageType.File,
      duplicate_window: nanos(120_000),
    });
    const js = jetstream(nc);
    const raw = batches(workload);
    const mine = batches(workload);
    const total = workload.cases.batch[1];
    const rawBatch = (batch: OutgoingMessage[]) => rawJetStreamPublish(js, `benchraw${unique}`, batch);
    // Untimed warm-up of both sides (connections, JIT), so neither pays it inside the timing.
    for (const batch of batches(workload).slice(0, 20)) await rawBatch(batch);
    await publishAll(ours, batches(workload).slice(0, 20));
    const { base, measured } = await alternate(total, raw, mine, rawBatch, (batch) => ours.publish(batch));
    return benchResult({
      suite: 'transport',
      backend: 'jetstream',
      case: caseName,
      value: measured.rate,
      baseline: 'raw-jetstream-async-ack',
      baselineValue: base.rate,
      unit: 'messages/s',
    });
  } finally {
    await ours.close();
    for (const stream of [rawStream, ourStream, `${ourStream}_DLQ`]) await jsm.streams.delete(stream).catch(() => false);
    await nc.close();
  }
}

/**
 * RabbitMQ: tidemark's transport against amqplib on a confirm channel publishing the same
 * messages persistently to a topic exchange routed to a durable quorum queue, awaiting the
 * confirms of each batch.
 */
async function rabbitCase(workload: WorkloadDefinition, caseName: string): Promise<BenchResult> {
  const model = await amqpConnect(rabbitUrl);
  const channel = await model.createConfirmChannel();
  const prefix = `tidemark-bench-${randomUUID()}`;
  const rawExchange = `${prefix}-raw`;
  const queues = [`${prefix}.raw`, `${prefix}.ours`];
  const ours = await createRabbitTransport({ url: rabbitUrl, prefix });
  try {
    await channel.assertExchange(rawExchange, 'topic', { durable: true });
    for (const [queue, exchange] of [
      [queues[0]!, rawExchange],
      [queues[1]!, prefix],
    ] as const) {
      await channel.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
      await channel.bindQueue(queue, exchange, benchMessageType);
    }
    const raw = batches(workload);
    const mine = batches(workload);
    const total = workload.cases.batch[1];
    const rawBatch = (batch: OutgoingMessage[]) => rawAmqpPublish(channel, rawExchange, batch);
    // Untimed warm-up of both sides (connections, JIT), so neither pays it inside the timing.
    for (const batch of batches(workload).slice(0, 20)) await rawBatch(batch);
    await publishAll(ours, batches(workload).slice(0, 20));
    const { base, measured } = await alternate(total, raw, mine, rawBatch, (batch) => ours.publish(batch));
    return benchResult({
      suite: 'transport',
      backend: 'rabbitmq',
      case: caseName,
      value: measured.rate,
      baseline: 'raw-amqplib-confirms',
      baselineValue: base.rate,
      unit: 'messages/s',
    });
  } finally {
    await ours.close();
    for (const queue of queues) await channel.deleteQueue(queue).catch(() => {});
    for (const exchange of [rawExchange, prefix]) await channel.deleteExchange(exchange).catch(() => {});
    await model.close();
  }
}

/**
 * The transport suite: publish throughput through tidemark's transports against the raw clients
 * doing the same acknowledged work in the same run. The relay's figures (outbox → broker) build on
 * these.
 */
export async function runTransportSuite(workload: WorkloadDefinition): Promise<BenchResult[]> {
  const publishCase = `publish.batch${workload.cases.batch[0]}`;
  const consumeCase = `consume.concurrency${consumeConcurrency}`;
  const results: BenchResult[] = [];
  for (const [name, run] of [
    ['jetstream publish', () => jetstreamCase(workload, publishCase)],
    ['rabbitmq publish', () => rabbitCase(workload, publishCase)],
    ['jetstream consume', () => jetstreamConsumeCase(workload, consumeCase)],
    ['rabbitmq consume', () => rabbitConsumeCase(workload, consumeCase)],
  ] as const) {
    try {
      const result = await run();
      printResult(result);
      results.push(result);
    } catch (error) {
      console.error(`transport: skipping ${name}: ${(error as Error).message}`);
    }
  }
  return results;
}
