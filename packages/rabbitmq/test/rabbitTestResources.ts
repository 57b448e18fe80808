import { serviceUrls } from '@tidemark/testing';
import { deleteRabbitTopology, type RabbitTransport } from '../src/index.js';

/** The transports a test file opens, closed by `cleanUp` (its afterAll) with every exchange and queue they declared. */
export function rabbitTestResources(): { transports: RabbitTransport[]; cleanUp(): Promise<void> } {
  const transports: RabbitTransport[] = [];
  return {
    transports,
    async cleanUp() {
      for (const transport of transports) await transport.close();
      await deleteRabbitTopology(serviceUrls.rabbitmq, {
        exchanges: [...new Set(transports.flatMap((t) => t.declared().exchanges))],
        queues: [...new Set(transports.flatMap((t) => t.declared().queues))],
      });
    },
  };
}
