import { createInMemoryEventStore } from '@tidemark/core';
import { eventStoreContract, eventStoreModelContract } from '@tidemark/testing';

eventStoreContract('in-memory', { create: async (options) => createInMemoryEventStore(options) });
eventStoreModelContract('in-memory', { create: async (options) => createInMemoryEventStore(options) });
