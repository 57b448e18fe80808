import { createConsumerLagMonitor, createInMemoryMetrics, createInMemoryTransport, type Transport } from '@tidemark/core';
import { describe, expect, it } from 'vitest';

const message = (n: number) => ({ id: `m-${n}`, type: 'shop.thing.happened', schemaVersion: 1, key: `k-${n}`, data: { n } });

describe('consumer lag monitor', () => {
  it('sets each group’s waiting count as a gauge, and still sets the others when one broker fails', async () => {
    const transport = createInMemoryTransport();
    const consumer = await transport.consume({ group: 'mailer', types: ['shop.thing.happened'] }, async () => {});
    await consumer.stop();
    await transport.publish([message(1), message(2), message(3)]);
    const down: Transport = { ...transport, name: 'down', waiting: async () => Promise.reject(new Error('broker down')) };
    const metrics = createInMemoryMetrics();
    const monitor = createConsumerLagMonitor({
      metrics,
      consumers: [
        { transport, group: 'mailer' },
        { transport: down, group: 'billing' },
      ],
    });
    await expect(monitor.measure()).rejects.toThrow('broker down');
    expect(metrics.value('tidemark_consumer_waiting_messages', { group: 'mailer', transport: 'in-memory' })).toBe(3);
    const healthy = createConsumerLagMonitor({ metrics, consumers: [{ transport, group: 'mailer' }] });
    expect(await healthy.measure()).toEqual({ mailer: 3 });
    await transport.close();
  });
});
