import { createInMemoryEventStore, createInMemoryKeyStore } from '@tidemark/core';
import { keyStoreContract } from '@tidemark/testing';

keyStoreContract('in-memory', {
  async create() {
    const keyStore = createInMemoryKeyStore();
    return { store: createInMemoryEventStore(), keyStore, openAnother: async () => keyStore };
  },
});
