import { randomUUID } from 'node:crypto';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { nanos, connect as natsConnect } from '@nats-io/transport-node';
import { createNatsTransport } from '@tidemark/nats';
import { createRabbitTransport } from '@tidemark/rabbitmq';
import { connect as amqpConnect } from 'amqplib';
import { type BenchResult, benchResult } from './benchResult.js';
import { batches, benchMessageType, rawJetStreamPublish, wireBody } from './transportMessages.js';
import type { WorkloadDefinition } from './workload.js';

const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const rabbitUrl = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** Messages in hand at once on both sides: tidemark's concurrency, the raw client's pull batch / prefetch. */
export const consumeConcurrency = 64;

/** Resolves when `count()` reaches `total`; the handlers bump it. */
function reached(total: number, count: () => number): Promise<void> {
  return new Promise((resolve) => {
    const check = () => (count() >= total ? resolve() : setTimeout(check, 1));
    check();
  });
}

/**
 * JetStream consumption of an already-stored backlog: a tidemark group replaying from the start
 * (per-key dispatch, explicit acks) against the raw client's durable pull consumer acknowledging
 * each message, over the same number of messages in streams of the same configuration.
 */
export async function jetstreamConsumeCase(workload: WorkloadDefinition, caseName: string): Promise<BenchResult> {
  const nc = await natsConnect({ servers: natsUrl });
  const jsm = await jetstreamManager(nc);
  const unique = randomUUID().replaceAll('-', '');
  const rawStream = `BENCHCRAW${unique}`;
  const ourStream = `BENCHC${unique}`;
  const ours = await createNatsTransport({ servers: natsUrl, stream: ourStream, subjectPrefix: `benchc${unique}` });
  try {
    await jsm.streams.add({
      name: rawStream,
      subjects: [`benchcraw${unique}.>`],
      storage: StorageType.File,
      duplicate_window: nanos(120_000),
    });
    const js = jetstream(nc);
    const total = workload.cases.batch[1];
    for (const batch of batches(workload)) await rawJetStreamPublish(js, `benchcraw${unique}`, batch);
    for (const batch of batches(workload)) await ours.publish(batch);

    await jsm.consumers.add(rawStream, { durable_name: 'bench', ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All });
    const rawConsumer = await js.consumers.get(rawStream, 'bench');
    let started = performance.now();
    const messages = await rawConsumer.consume({ max_messages: consumeConcurrency });
    let rawCount = 0;
    for await (const msg of messages) {
      JSON.parse(msg.string());
      msg.ack();
      if (++rawCount >= total) break;
    }
    const rawMs = performance.now() - started;

    let ourCount = 0;
    started = performance.now();
    const consumer = await ours.consume(
      { group: 'bench', types: [benchMessageType], concurrency: consumeConcurrency, startFrom: { kind: 'all' } },
      async () => {
        ourCount += 1;
      },
    );
    await reached(total, () => ourCount);
    const ourMs = performance.now() - started;
    await consumer.stop();
    return benchResult({
      suite: 'transport',
      backend: 'jetstream',
      case: caseName,
      value: total / (ourMs / 1000),
      baseline: 'raw-jetstream-pull-ack',
      baselineValue: total / (rawMs / 1000),
      unit: 'messages/s',
    });
  } finally {
    await ours.close();
    for (const stream of [rawStream, ourStream, `${ourStream}_DLQ`]) await jsm.streams.delete(stream).catch(() => false);
    await nc.close();
  }
}

/**
 * RabbitMQ consumption of a queued backlog: a tidemark group (prefetch = concurrency, per-key
 * dispatch, acks) against amqplib consuming with the same prefetch and acknowledging each message,
 * each from its own quorum queue holding the same messages.
 */
export async function rabbitConsumeCase(workload: WorkloadDefinition, caseName: string): Promise<BenchResult> {
  const model = await amqpConnect(rabbitUrl);
  const channel = await model.createConfirmChannel();
  const prefix = `tidemark-bench-${randomUUID()}`;
  const rawQueue = `${prefix}.raw`;
  const ours = await createRabbitTransport({ url: rabbitUrl, prefix, declareGroups: [{ group: 'bench', types: [benchMessageType] }] });
  try {
    await channel.assertQueue(rawQueue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    const total = workload.cases.batch[1];
    for (const batch of batches(workload)) {
      const now = new Date();
      for (const m of batch) channel.sendToQueue(rawQueue, Buffer.from(wireBody(m, now)), { persistent: true, messageId: m.id });
      await channel.waitForConfirms();
    }
    for (const batch of batches(workload)) await ours.publish(batch);

    const consuming = await model.createChannel();
    await consuming.prefetch(consumeConcurrency);
    let rawCount = 0;
    let started = performance.now();
    const { consumerTag } = await consuming.consume(rawQueue, (msg) => {
      if (!msg) return;
      JSON.parse(msg.content.toString('utf8'));
      consuming.ack(msg);
      rawCount += 1;
    });
    await reached(total, () => rawCount);
    const rawMs = performance.now() - started;
    await consuming.cancel(consumerTag);
    await consuming.close();

    let ourCount = 0;
    started = performance.now();
    const consumer = await ours.consume({ group: 'bench', types: [benchMessageType], concurrency: consumeConcurrency }, async () => {
      ourCount += 1;
    });
    await reached(total, () => ourCount);
    const ourMs = performance.now() - started;
    await consumer.stop();
    return benchResult({
      suite: 'transport',
      backend: 'rabbitmq',
      case: caseName,
      value: total / (ourMs / 1000),
      baseline: 'raw-amqplib-prefetch-ack',
      baselineValue: total / (rawMs / 1000),
      unit: 'messages/s',
    });
  } finally {
    await ours.close();
    const names = ours.declared();
    for (const queue of [rawQueue, ...names.queues]) await channel.deleteQueue(queue).catch(() => {});
    for (const exchange of names.exchanges) await channel.deleteExchange(exchange).catch(() => {});
    await model.close();
  }
}
