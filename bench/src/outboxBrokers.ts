import { randomUUID } from 'node:crypto';
import { jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { nanos, connect as natsConnect } from '@nats-io/transport-node';
import type { OutgoingMessage, Transport } from '@tidemark/core';
import { createNatsTransport } from '@tidemark/nats';
import { createRabbitTransport } from '@tidemark/rabbitmq';
import { connect as amqpConnect } from 'amqplib';
import { benchMessageType, rawAmqpPublish, rawJetStreamPublish } from './transportMessages.js';

const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const rabbitUrl = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/**
 * A broker for one case: tidemark's transport (what the relay publishes through) and the raw
 * client publishing the same messages with the same acknowledgements (the baseline), each into
 * its own uniquely named stream or queue, all removed by dispose.
 */
export interface BenchBroker {
  name: 'jetstream' | 'rabbitmq';
  /** The baseline's name in the JSON lines. */
  baseline: string;
  transport: Transport;
  /** The raw client: publishes one batch and resolves once the broker acknowledged every message. */
  rawPublish(batch: readonly OutgoingMessage[]): Promise<void>;
  dispose(): Promise<void>;
}

/**
 * JetStream: the raw client publishes a batch asynchronously with acknowledgements (msgID set,
 * one batch in flight), into a file-backed stream of the same configuration as the transport's.
 */
export async function openJetStreamBroker(): Promise<BenchBroker> {
  const nc = await natsConnect({ servers: natsUrl });
  const jsm = await jetstreamManager(nc);
  const unique = randomUUID().replaceAll('-', '');
  const rawStream = `BENCHORAW${unique}`;
  const ourStream = `BENCHO${unique}`;
  const transport = await createNatsTransport({ servers: natsUrl, stream: ourStream, subjectPrefix: `bencho${unique}` });
  await jsm.streams.add({
    name: rawStream,
    subjects: [`benchoraw${unique}.>`],
    storage: StorageType.File,
    duplicate_window: nanos(120_000),
  });
  const js = jetstream(nc);
  return {
    name: 'jetstream',
    baseline: 'raw-jetstream-async-ack',
    transport,
    rawPublish: (batch) => rawJetStreamPublish(js, `benchoraw${unique}`, batch),
    async dispose() {
      await transport.close();
      for (const stream of [rawStream, ourStream, `${ourStream}_DLQ`]) await jsm.streams.delete(stream).catch(() => false);
      await nc.close();
    },
  };
}

/**
 * RabbitMQ: amqplib on a confirm channel publishing persistently to a topic exchange routed to a
 * durable quorum queue, awaiting the confirms of each batch. The transport's exchange is routed
 * to a quorum queue too (unroutable messages would be confirmed without being stored); a
 * consuming group declares its own queues, which dispose deletes as well.
 */
export async function openRabbitBroker(): Promise<BenchBroker> {
  const model = await amqpConnect(rabbitUrl);
  const channel = await model.createConfirmChannel();
  const prefix = `tidemark-bench-outbox-${randomUUID()}`;
  const rawExchange = `${prefix}-raw`;
  const sinks = [`${prefix}.raw`, `${prefix}.sink`];
  const transport = await createRabbitTransport({ url: rabbitUrl, prefix });
  await channel.assertExchange(rawExchange, 'topic', { durable: true });
  for (const [queue, exchange] of [
    [sinks[0]!, rawExchange],
    [sinks[1]!, prefix],
  ] as const) {
    await channel.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await channel.bindQueue(queue, exchange, benchMessageType);
  }
  return {
    name: 'rabbitmq',
    baseline: 'raw-amqplib-confirms',
    transport,
    rawPublish: (batch) => rawAmqpPublish(channel, rawExchange, batch),
    async dispose() {
      const declared = transport.declared();
      await transport.close();
      for (const queue of [...sinks, ...declared.queues]) await channel.deleteQueue(queue).catch(() => {});
      for (const exchange of [rawExchange, ...declared.exchanges]) await channel.deleteExchange(exchange).catch(() => {});
      await model.close();
    },
  };
}
