import { eventBrowserContract, serviceAvailable } from '@tidemark/testing';
import { describe } from 'vitest';
import { createPostgresEventBrowser } from '../src/index.js';
import { createStoreFactory } from './testSchemas.js';

const available = await serviceAvailable('postgres');

describe.skipIf(!available)('postgres event browser', () => {
  const stores = createStoreFactory();
  eventBrowserContract('postgres', {
    create: async (options) => {
      const store = await stores.create({ poolSize: 3, ...options });
      return { store, browser: createPostgresEventBrowser(store) };
    },
    teardown: () => stores.cleanup(),
  });
});
