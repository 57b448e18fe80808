import { checkpointStoreContract, serviceAvailable } from '@tidemark/testing';
import { describe } from 'vitest';
import { createPostgresCheckpointStore } from '../src/index.js';
import { createStoreFactory } from './testSchemas.js';

const available = await serviceAvailable('postgres');

describe.skipIf(!available)('postgres checkpoint store', () => {
  // No search_path: the checkpoint tables are qualified with the store's schema.
  const stores = createStoreFactory();
  checkpointStoreContract('postgres', {
    create: async (options) => ({ store: await stores.create({ poolSize: 3, ...options }), checkpoints: createPostgresCheckpointStore() }),
    teardown: () => stores.cleanup(),
  });
});
