import { randomUUID } from 'node:crypto';
import type { OutgoingMessage } from '@tidemark/core';
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
