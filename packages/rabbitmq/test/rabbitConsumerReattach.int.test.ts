import { randomUUID } from 'node:crypto';
import { type Consumer, type DeliveredMessage, resolveConsumeOptions } from '@tidemark/core';
import { serviceAvailable, serviceUrls, waitFor } from '@tidemark/testing';
import { type Channel, type ChannelModel, type ConsumeMessage, connect } from 'amqplib';
import { afterAll, describe, expect, it } from 'vitest';
import { createRabbitTransport, deleteRabbitTopology, type RabbitTransport } from '../src/index.js';
import { RabbitConnection } from '../src/transport/rabbitConnection.js';
import { startRabbitConsumer } from '../src/transport/rabbitConsumer.js';
import { RabbitTopology } from '../src/transport/rabbitTopology.js';

const available = await serviceAvailable('rabbitmq');

/**
 * A topology whose next declareGroup — the one a consumer's re-attach makes on its new channel —
 * waits for the test (the reconnect is held part-way, with its channel open and not yet
 * consuming), or fails.
 */
class GatedTopology extends RabbitTopology {
  readonly channels: Channel[] = [];
  private gate: { opened: (channel: Channel) => void; release: Promise<void> } | undefined;

  /** Holds the next declareGroup; resolves with its channel once a re-attach reaches it. */
  hold(release: Promise<void>): Promise<Channel> {
    return new Promise((opened) => {
      this.gate = { opened, release };
    });
  }

  private refusals = 0;

  /** Refuses the next `count` declareGroups, as a broker refusing a re-declare would. */
  refuse(count: number): void {
    this.refusals = count;
  }

  override async declareGroup(channel: Channel, group: string, types: readonly string[]): Promise<void> {
    this.channels.push(channel);
    if (this.refusals > 0) {
      this.refusals--;
      throw new Error('declare refused (test)');
    }
    const gate = this.gate;
    if (gate) {
      this.gate = undefined;
      gate.opened(channel);
      await gate.release;
    }
    await super.declareGroup(channel, group, types);
  }
}

describe.skipIf(!available)('RabbitMQ consumer re-attaching after a lost channel or connection', () => {
  const connections: RabbitConnection[] = [];
  const transports: RabbitTransport[] = [];
  const declared = { exchanges: new Set<string>(), queues: new Set<string>() };
  afterAll(async () => {
    for (const connection of connections) await connection.close();
    for (const transport of transports) await transport.close();
    await deleteRabbitTopology(serviceUrls.rabbitmq, { exchanges: [...declared.exchanges], queues: [...declared.queues] });
  });

  const setUp = async () => {
    const prefix = `tidemark-stop-${randomUUID()}`;
    const topology = new GatedTopology(prefix);
    const connection = new RabbitConnection({ url: serviceUrls.rabbitmq, heartbeatSeconds: 1, name: prefix });
    connections.push(connection);
    await connection.start();
    const handled: DeliveredMessage[] = [];
    const options = resolveConsumeOptions({ group: 'g', types: ['a.happened'] });
    const consumer = await startRabbitConsumer(connection, topology, options, async (m) => {
      handled.push(m);
    });
    for (const name of topology.declared.exchanges) declared.exchanges.add(name);
    for (const name of topology.declared.queues) declared.queues.add(name);
    return { prefix, topology, connection, consumer, handled, queue: topology.queue('g') };
  };

  /**
   * Stops the consumer while its re-attach is held on `reopened`, then lets the re-attach go on;
   * after stop() has resolved, the channel the re-attach opened must be closed without ever
   * having consumed, and messages published afterwards must stay for another consumer.
   */
  const stopWhileReattaching = async (
    setup: Awaited<ReturnType<typeof setUp>>,
    reopened: Promise<Channel>,
    release: () => void,
  ): Promise<void> => {
    const { prefix, consumer, handled, queue } = setup;
    const channel = await reopened;
    let closed = false;
    channel.on('close', () => {
      closed = true;
    });
    const stopping = (consumer as Consumer).stop();
    release();
    await stopping;

    const admin: ChannelModel = await connect(serviceUrls.rabbitmq);
    try {
      const check = await admin.createChannel();
      const consumers = async () => (await check.checkQueue(queue)).consumerCount;
      // Either outcome of the held re-attach is observable: its channel closed, or a consumer on the queue.
      await waitFor(async () => closed || (await consumers()) > 0, 'the held re-attach to finish', 10_000);
      expect(await consumers()).toBe(0);
      expect(closed).toBe(true);

      const publisher = await createRabbitTransport({ url: serviceUrls.rabbitmq, prefix });
      transports.push(publisher);
      const ids = Array.from({ length: 5 }, () => randomUUID());
      await publisher.publish(ids.map((id) => ({ id, type: 'a.happened', schemaVersion: 1, key: id, data: {} })));
      // Another consumer takes every one of them: the stopped consumer took none.
      const taken: ConsumeMessage[] = [];
      const other = await admin.createChannel();
      await other.consume(queue, (msg) => {
        if (msg) taken.push(msg);
      });
      await waitFor(() => taken.length === ids.length, 'another consumer to take every message', 10_000);
      expect(taken.map((msg) => msg.properties.messageId).sort()).toEqual([...ids].sort());
      expect(handled).toEqual([]);
      for (const msg of taken) other.ack(msg);
    } finally {
      await admin.close();
    }
  };

  it('stop() during the re-attach after a lost channel: the new channel never consumes', async () => {
    const setup = await setUp();
    let release!: () => void;
    const reopened = setup.topology.hold(new Promise<void>((resolve) => (release = resolve)));
    // Lose the consumer's channel from the client side; the consumer re-opens one on the same connection.
    const first = setup.topology.channels[0];
    if (!first) throw new Error('the consumer declared its group on no channel');
    await first.close();
    await stopWhileReattaching(setup, reopened, release);
  });

  it('tries a re-attach that failed on a live connection again, closing the channels it opened, and consumes again', async () => {
    const setup = await setUp();
    setup.topology.refuse(2);
    const first = setup.topology.channels[0];
    if (!first) throw new Error('the consumer declared its group on no channel');
    // Lose the channel only: the connection stays up, so no reconnect will come to re-attach.
    await first.close();
    const publisher = await createRabbitTransport({ url: serviceUrls.rabbitmq, prefix: setup.prefix });
    transports.push(publisher);
    const id = randomUUID();
    await publisher.publish([{ id, type: 'a.happened', schemaVersion: 1, key: id, data: {} }]);
    await waitFor(() => setup.handled.length === 1, 'the consumer to consume again after two refused re-attaches', 15_000);
    expect(setup.handled.map((m) => m.id)).toEqual([id]);
    // The channels of the refused attempts were closed, not left open on the connection.
    const refused = setup.topology.channels.slice(1, 3);
    expect(refused).toHaveLength(2);
    for (const channel of refused) {
      await expect(Promise.resolve().then(() => channel.checkQueue(setup.queue))).rejects.toThrow();
    }
    await setup.consumer.stop();
  });

  it('stop() during the re-attach after a lost connection: the new channel never consumes', async () => {
    const setup = await setUp();
    let release!: () => void;
    const reopened = setup.topology.hold(new Promise<void>((resolve) => (release = resolve)));
    // Drop the consumer's connection from the client side; RabbitConnection reconnects and the consumer re-attaches.
    const model = setup.connection.model;
    if (!model) throw new Error('the connection is not up');
    await model.close();
    await stopWhileReattaching(setup, reopened, release);
  });
});
