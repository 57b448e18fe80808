import { randomUUID } from 'node:crypto';
import { serviceAvailable, serviceUrls, transportContract } from '@tidemark/testing';
import { describe } from 'vitest';
import { createRabbitTransport, deleteRabbitTopology, type RabbitTransport } from '../src/index.js';

const available = await serviceAvailable('rabbitmq');

describe.skipIf(!available)('RabbitMQ transport', () => {
  const created: RabbitTransport[] = [];
  transportContract('rabbitmq', {
    replayable: false,
    deduplicates: false,
    keyOrderAcrossConsumers: false,
    async create() {
      const options = { url: serviceUrls.rabbitmq, prefix: `tidemark-test-${randomUUID()}` };
      const open = async () => {
        const transport = await createRabbitTransport(options);
        created.push(transport);
        return transport;
      };
      return { transport: await open(), connect: open };
    },
    async teardown() {
      const exchanges = new Set(created.flatMap((t) => t.declared().exchanges));
      const queues = new Set(created.flatMap((t) => t.declared().queues));
      await deleteRabbitTopology(serviceUrls.rabbitmq, { exchanges: [...exchanges], queues: [...queues] });
    },
  });
});
