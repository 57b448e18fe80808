import { createInMemoryEventStore, createInMemorySnapshotStore } from '@tidemark/core';
import { snapshotStoreContract } from '@tidemark/testing';

snapshotStoreContract('in-memory', {
  create: async (options) => ({ events: createInMemoryEventStore(options), snapshots: createInMemorySnapshotStore() }),
});
