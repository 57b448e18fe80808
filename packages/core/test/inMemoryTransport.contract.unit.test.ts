import { transportContract } from '@tidemark/testing';
import { createInMemoryBroker, createInMemoryTransport } from '../src/index.js';

transportContract('in-memory', {
  replayable: true,
  deduplicates: true,
  keyOrderAcrossConsumers: true,
  async create() {
    const broker = createInMemoryBroker();
    return {
      transport: createInMemoryTransport({ broker }),
      connect: async () => createInMemoryTransport({ broker }),
    };
  },
});
