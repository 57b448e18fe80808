import { randomUUID } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { DeliveredMessage } from '@tidemark/core';
import { serviceAvailable, serviceUrls, waitFor } from '@tidemark/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { createNatsTransport, natsNames } from '../src/index.js';
import { natsTestResources } from './natsTestResources.js';

const available = await serviceAvailable('nats');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(!available)('NATS consumer stop() and the ack deadline', () => {
  const { streams, transports, cleanUp } = natsTestResources();
  afterAll(cleanUp);

  it('keeps extending the ack deadline of a message whose handler still runs during stop(): no redelivery to the group, one delivery, one ack', async () => {
    const ackWaitMs = 1000;
    const stream = `T${randomUUID().replaceAll('-', '')}`;
    const options = { servers: serviceUrls.nats, stream, subjectPrefix: stream.toLowerCase(), ackWaitMs, storage: 'memory' as const };
    streams.push(stream, `${stream}_DLQ`);
    // Two instances of a service: separate connections, one consumer group.
    const first = await createNatsTransport(options);
    const second = await createNatsTransport(options);
    transports.push(first, second);

    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const events: string[] = [];
    const firstSeen: DeliveredMessage[] = [];
    const firstConsumer = await first.consume({ group: 'g', types: ['a.happened'] }, async (m) => {
      firstSeen.push(m);
      await held;
      events.push('first handler finished');
    });
    const sent = { id: randomUUID(), type: 'a.happened', schemaVersion: 1, key: 'k', data: {} };
    await first.publish([sent]);
    await waitFor(() => firstSeen.length === 1, 'the first consumer to take the message', 10_000);

    // Only now does the second instance join, so the message is surely the first one's.
    const secondSeen: DeliveredMessage[] = [];
    await second.consume({ group: 'g', types: ['a.happened'] }, async (m) => {
      secondSeen.push(m);
      events.push(`second consumer got attempt ${m.attempt}`);
    });

    const stopping = firstConsumer.stop();
    // A graceful shutdown whose in-flight handler outlasts ack_wait several times over.
    await sleep(ackWaitMs * 3.5);
    release();
    await stopping;
    // Another ack_wait and more: an extension that stopped, or an ack that was lost, shows as a redelivery by now.
    await sleep(ackWaitMs * 2);

    // Judged by the broker: delivered once, acked once, nothing pending or redelivered.
    const nc = await connect({ servers: serviceUrls.nats });
    const jsm = await jetstreamManager(nc);
    const info = await jsm.consumers.info(stream, natsNames(stream, stream.toLowerCase()).durable('g')).finally(() => nc.close());
    expect({
      events,
      firstSeen: firstSeen.map((m) => [m.id, m.attempt]),
      secondSeen: secondSeen.length,
      broker: {
        delivered: info.delivered.consumer_seq,
        ackFloor: info.ack_floor.consumer_seq,
        ackFloorStream: info.ack_floor.stream_seq,
        ackPending: info.num_ack_pending,
        redelivered: info.num_redelivered,
        pending: info.num_pending,
      },
    }).toEqual({
      events: ['first handler finished'],
      firstSeen: [[sent.id, 1]],
      secondSeen: 0,
      broker: { delivered: 1, ackFloor: 1, ackFloorStream: 1, ackPending: 0, redelivered: 0, pending: 0 },
    });
  }, 30_000);
  it('stops extending it once handlerTimeoutMs fails a handler still running during stop(): the message goes back to the group', async () => {
    const ackWaitMs = 1000;
    const handlerTimeoutMs = 3000;
    const stream = `T${randomUUID().replaceAll('-', '')}`;
    const options = { servers: serviceUrls.nats, stream, subjectPrefix: stream.toLowerCase(), ackWaitMs, storage: 'memory' as const };
    streams.push(stream, `${stream}_DLQ`);
    const first = await createNatsTransport(options);
    const second = await createNatsTransport(options);
    transports.push(first, second);

    const events: string[] = [];
    const firstSeen: DeliveredMessage[] = [];
    let release = () => {};
    const hung = new Promise<void>((resolve) => {
      release = resolve;
    });
    const group = { group: 'g', types: ['a.happened'], handlerTimeoutMs, retryDelayMs: () => 0 };
    const firstConsumer = await first.consume(group, async (m) => {
      firstSeen.push(m);
      await hung;
    });
    try {
      await first.publish([{ id: randomUUID(), type: 'a.happened', schemaVersion: 1, key: 'k', data: {} }]);
      await waitFor(() => firstSeen.length === 1, 'the first consumer to take the message', 10_000);
      const secondSeen: DeliveredMessage[] = [];
      await second.consume(group, async (m) => {
        secondSeen.push(m);
        events.push(`second consumer got attempt ${m.attempt}`);
      });
      const started = Date.now();
      await firstConsumer.stop();
      events.push('stop resolved');
      // stop() waited out the handler's timeout, not less (the timer began a little before stop).
      expect(Date.now() - started).toBeGreaterThan(handlerTimeoutMs - 1000);
      await waitFor(() => secondSeen.length === 1, 'the failed message to come back to the group', 10_000);
      expect(events).toEqual(['stop resolved', 'second consumer got attempt 2']);
    } finally {
      release();
    }
  }, 30_000);
});
