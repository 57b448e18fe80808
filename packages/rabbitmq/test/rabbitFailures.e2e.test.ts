import { randomUUID } from 'node:crypto';
import {
  chaosSetting,
  reportChaos,
  reportPoison,
  runPoisonScenario,
  runTransportOutage,
  serviceAvailable,
  serviceUrls,
  startTcpProxy,
  type TcpProxy,
} from '@tidemark/testing';
import { connect } from 'amqplib';
import { afterAll, describe, expect, it } from 'vitest';
import { createRabbitTransport, deleteRabbitTopology, type RabbitTransport } from '../src/index.js';

const available = await serviceAvailable('rabbitmq');

describe.skipIf(!available)('RabbitMQ under failure (connections cut by a TCP proxy in front of the shared broker)', () => {
  const transports: RabbitTransport[] = [];
  const proxies: TcpProxy[] = [];
  afterAll(async () => {
    for (const transport of transports) await transport.close();
    for (const proxy of proxies) await proxy.close();
    await deleteRabbitTopology(serviceUrls.rabbitmq, {
      exchanges: [...new Set(transports.flatMap((t) => t.declared().exchanges))],
      queues: [...new Set(transports.flatMap((t) => t.declared().queues))],
    });
  });
  const broker = new URL(serviceUrls.rabbitmq);
  /** Messages ready in each queue, read over a connection of its own (not through the proxy). */
  const readyCounts = async (queues: readonly string[]) => {
    const model = await connect(serviceUrls.rabbitmq);
    try {
      const channel = await model.createChannel();
      return await Promise.all(queues.map(async (queue) => (await channel.checkQueue(queue)).messageCount));
    } finally {
      await model.close();
    }
  };
  const open = async (url: string, prefix: string) => {
    const transport = await createRabbitTransport({ url, prefix, heartbeatSeconds: 1 });
    transports.push(transport);
    return transport;
  };

  it('connections dropped and refused for a while: publishers and consumers recover, the backlog drains, nothing is lost', async () => {
    const proxy = await startTcpProxy({ host: broker.hostname, port: Number(broker.port || 5672) });
    proxies.push(proxy);
    const viaProxy = new URL(serviceUrls.rabbitmq);
    viaProxy.port = String(proxy.port);
    const prefix = `tidemark-outage-${randomUUID()}`;
    const publisher = await open(viaProxy.toString(), prefix);
    const consumer = await open(viaProxy.toString(), prefix);
    const result = await runTransportOutage({
      publisher,
      consumer,
      outages: chaosSetting('RABBITMQ_OUTAGES', 20),
      outageMs: chaosSetting('OUTAGE_MS', 300),
      minMessages: chaosSetting('MESSAGES', 500),
      breakBroker: () => proxy.cut(),
      healBroker: () => proxy.restore(),
      drained: async () => (await readyCounts(publisher.declared().queues)).every((count) => count === 0),
    });
    // The scenario's consumer applies an effect once per id, as an inbox does: duplicate deliveries are not effects.
    const { outages: runs, sent, delivered, lost, effects } = result;
    reportChaos({ case: 'broker.outage', backend: 'rabbitmq', runs, sent, delivered, lost, duplicateEffects: effects - delivered });
    expect(result.lost).toBe(0);
    expect(result.effects).toBe(result.sent);
    // With the consumer stopped, the queues hold nothing: no message stuck unacknowledged, in a retry queue or dead.
    const queues = publisher.declared().queues;
    expect(await readyCounts(queues)).toEqual(queues.map(() => 0));
  });

  it('a poison message is retried maxDeliveries times, dead-lettered with its error, and traffic behind it flows', async () => {
    const transport = await open(serviceUrls.rabbitmq, `tidemark-poison-${randomUUID()}`);
    const maxDeliveries = 3;
    const result = await runPoisonScenario(transport, { messages: chaosSetting('POISON_MESSAGES', 200), poisonEvery: 20, maxDeliveries });
    reportPoison(result, 'rabbitmq');
    expect(result.applied.size).toBe(result.sent - result.poison.length);
    expect(result.deadLetters.map((d) => d.message.id).sort()).toEqual([...result.poison].sort());
    for (const dead of result.deadLetters) {
      expect(result.poisonAttempts.get(dead.message.id)).toEqual([1, 2, 3]);
      expect(dead.error).toContain(`failed on attempt ${maxDeliveries}`);
    }
  });
});
