import { serviceAvailable, snapshotStoreContract } from '@tidemark/testing';
import { describe } from 'vitest';
import { createPostgresSnapshotStore } from '../src/index.js';
import { createStoreFactory } from './testSchemas.js';

const available = await serviceAvailable('postgres');
const stores = createStoreFactory();

describe.skipIf(!available)('PostgreSQL', () => {
  snapshotStoreContract('postgres', {
    create: async (options) => {
      const events = await stores.create(options);
      return { events, snapshots: createPostgresSnapshotStore({ store: events }) };
    },
    teardown: stores.cleanup,
  });
});
