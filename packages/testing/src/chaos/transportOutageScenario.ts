import { randomUUID } from 'node:crypto';
import type { OutgoingMessage, Transport } from '@tidemark/core';
import { waitFor } from '../waitFor.js';

export interface TransportOutageOptions {
  /** Publishes (the relay's side). */
  readonly publisher: Transport;
  /** Consumes (another service's side); may be the publisher's transport. */
  readonly consumer: Transport;
  /** Breaks the broker or the network (SIGKILL, a cut proxy); resolves once it is broken. */
  breakBroker(): Promise<void>;
  /** Brings it back; resolves once it is reachable again. */
  healBroker(): Promise<void>;
  /** Outages to go through. */
  readonly outages: number;
  /** How long each outage lasts. */
  readonly outageMs: number;
  /** At least this many messages are published, and publishing goes on until the last outage is over. */
  readonly minMessages: number;
  /** Messages per publish call. Default 10. */
  readonly batch?: number;
  /** Pause between publish calls, so the load spans the outages. Default 5 ms. */
  readonly paceMs?: number;
  /** Publish loops running side by side. Default 4. */
  readonly publishers?: number;
  readonly concurrency?: number;
  /**
   * True once the broker holds nothing more for the consumer (duplicates of applied messages
   * included, e.g. ones requeued when an acknowledgement was cut off); awaited before the
   * consumer stops, so what the broker holds afterwards can be checked.
   */
  drained?(): Promise<boolean>;
  /** How long the backlog may take to drain after the last outage. Default 60 s. */
  readonly drainTimeoutMs?: number;
}

export interface TransportOutageResult {
  readonly outages: number;
  readonly sent: number;
  /** Distinct ids that reached the handler. */
  readonly delivered: number;
  readonly lost: number;
  /** Deliveries of an id already delivered (at-least-once at work; an inbox drops them). */
  readonly duplicateDeliveries: number;
  /** Effects applied: one per id, a duplicate delivery is skipped by id as an inbox does. */
  readonly effects: number;
  /** Publish calls that failed and were repeated with the same ids. */
  readonly publishRetries: number;
  readonly ids: readonly string[];
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Publishing and consuming under broker outages: publishers send batches at a steady pace and
 * repeat a failed batch with the same ids (as the relay does); a consumer group applies an
 * effect once per id; before each outage the scenario waits until, since the last one, new
 * messages were both published and applied — so every outage meets a publisher and a consumer
 * that have recovered from the one before. Afterwards
 * it waits for the backlog to drain and counts what was lost.
 */
export async function runTransportOutage(options: TransportOutageOptions): Promise<TransportOutageResult> {
  const type = 'chaos.outage.happened';
  const group = `outage-${randomUUID()}`;
  const batch = options.batch ?? 10;
  const paceMs = options.paceMs ?? 5;
  const sentIds: string[] = [];
  const effects = new Set<string>();
  let deliveries = 0;
  let publishRetries = 0;
  let outagesDone = false;

  const consumer = await options.consumer.consume({ group, types: [type], concurrency: options.concurrency ?? 8 }, async (message) => {
    deliveries += 1;
    effects.add(message.id);
  });

  let n = 0;
  const publishLoop = async () => {
    while (!outagesDone || sentIds.length < options.minMessages) {
      const messages: OutgoingMessage[] = Array.from({ length: batch }, () => ({
        id: randomUUID(),
        type,
        schemaVersion: 1,
        key: `key-${n++ % 16}`,
        data: { n },
      }));
      for (;;) {
        try {
          await options.publisher.publish(messages);
          break;
        } catch {
          publishRetries += 1;
          await pause(50);
        }
      }
      for (const message of messages) sentIds.push(message.id);
      await pause(paceMs);
    }
  };
  const publishing = Promise.all(Array.from({ length: options.publishers ?? 4 }, publishLoop));

  try {
    for (let outage = 0; outage < options.outages; outage++) {
      // Both sides recovered from the last outage: new messages were published and new ones applied.
      const sentBefore = sentIds.length;
      const appliedBefore = effects.size;
      await waitFor(
        () => sentIds.length > sentBefore && effects.size > appliedBefore,
        `publishing and consuming to progress before outage ${outage + 1}`,
        30_000,
      );
      await options.breakBroker();
      await pause(options.outageMs);
      await options.healBroker();
    }
    outagesDone = true;
    await publishing;
    const drainTimeoutMs = options.drainTimeoutMs ?? 60_000;
    await waitFor(() => sentIds.every((id) => effects.has(id)), 'the backlog to drain', drainTimeoutMs).catch(() => {});
    const drained = options.drained;
    if (drained) await waitFor(() => drained(), 'the broker to hold nothing more', drainTimeoutMs).catch(() => {});
  } finally {
    outagesDone = true;
    await consumer.stop();
  }
  const delivered = sentIds.filter((id) => effects.has(id)).length;
  return {
    outages: options.outages,
    sent: sentIds.length,
    delivered,
    lost: sentIds.length - delivered,
    duplicateDeliveries: deliveries - effects.size,
    effects: effects.size,
    publishRetries,
    ids: sentIds,
  };
}
