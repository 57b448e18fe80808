import { randomUUID } from 'node:crypto';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { OutgoingMessage } from '@tidemark/core';
import type { ConfirmChannel } from 'amqplib';
import type { WorkloadDefinition } from './workload.js';

export const benchMessageType = 'bench.money.deposited';

/** The workload's deposits as integration messages, in the batches the relay would publish. */
export function batches(workload: WorkloadDefinition): OutgoingMessage[][] {
  const [size, total] = workload.cases.batch;
  const all = Array.from({ length: total }, (_, i) => ({
    id: randomUUID(),
    type: benchMessageType,
    schemaVersion: 1,
    key: `account-${i % 100}`,
    data: workload.event(i).data,
  }));
  const out: OutgoingMessage[][] = [];
  for (let i = 0; i < all.length; i += size) out.push(all.slice(i, i + size));
  return out;
}

/** The same JSON the transports put on the wire, so both sides move the same bytes. */
export function wireBody(message: OutgoingMessage, now: Date): string {
  return JSON.stringify({
    id: message.id,
    type: message.type,
    schemaVersion: message.schemaVersion,
    key: message.key,
    occurredAt: now.toISOString(),
    headers: {},
    data: message.data,
  });
}

/** The JetStream baseline: the raw client publishing a batch asynchronously, awaiting every PubAck. */
export async function rawJetStreamPublish(js: JetStreamClient, subjectPrefix: string, batch: readonly OutgoingMessage[]): Promise<void> {
  const now = new Date();
  await Promise.all(batch.map((m) => js.publish(`${subjectPrefix}.${m.type}`, wireBody(m, now), { msgID: m.id })));
}

/** The RabbitMQ baseline: persistent publishes on a confirm channel, awaiting the batch's confirms. */
export async function rawAmqpPublish(channel: ConfirmChannel, exchange: string, batch: readonly OutgoingMessage[]): Promise<void> {
  const now = new Date();
  for (const m of batch) {
    channel.publish(exchange, m.type, Buffer.from(wireBody(m, now)), {
      persistent: true,
      messageId: m.id,
      type: m.type,
      contentType: 'application/json',
      headers: { 'x-tidemark-attempt': 1 },
    });
  }
  await channel.waitForConfirms();
}
