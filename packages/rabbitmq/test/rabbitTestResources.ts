import { serviceUrls } from '@tidemark/testing';
import { createRabbitTransport, deleteRabbitTopology, type RabbitTransport, type RabbitTransportOptions } from '../src/index.js';

/** The transports a test file opens, closed by `cleanUp` (its afterAll) with every exchange and queue they declared. */
export function rabbitTestResources(): {
  transports: RabbitTransport[];
  /** A transport on the shared broker, closed and cleaned up with the others. */
  open(options: Omit<RabbitTransportOptions, 'url'>): Promise<RabbitTransport>;
  cleanUp(): Promise<void>;
} {
  const transports: RabbitTransport[] = [];
  return {
    transports,
    async open(options) {
      const transport = await createRabbitTransport({ url: serviceUrls.rabbitmq, ...options });
      transports.push(transport);
      return transport;
    },
    async cleanUp() {
      for (const transport of transports) await transport.close();
      await deleteRabbitTopology(serviceUrls.rabbitmq, {
        exchanges: [...new Set(transports.flatMap((t) => t.declared().exchanges))],
        queues: [...new Set(transports.flatMap((t) => t.declared().queues))],
      });
    },
  };
}
