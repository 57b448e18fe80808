import { checkpointStoreContract } from '@tidemark/testing';
import { createInMemoryCheckpointStore, createInMemoryEventStore } from '../src/index.js';

checkpointStoreContract('in-memory', {
  create: async (options) => ({ store: createInMemoryEventStore(options), checkpoints: createInMemoryCheckpointStore() }),
});
