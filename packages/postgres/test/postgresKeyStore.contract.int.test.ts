import { keyStoreContract, serviceAvailable, serviceUrls } from '@tidemark/testing';
import { describe } from 'vitest';
import { createPostgresKeyStore, type PostgresKeyStore } from '../src/index.js';
import { createStoreFactory } from './testSchemas.js';

const available = await serviceAvailable('postgres');

describe.skipIf(!available)('postgres key store', () => {
  const stores = createStoreFactory();
  const keyStores: PostgresKeyStore[] = [];
  keyStoreContract('postgres', {
    async create() {
      const store = await stores.create();
      // A pool of its own for the second one: another process's connections.
      const another = async () => {
        const keyStore = createPostgresKeyStore({ url: serviceUrls.postgres, schema: store.schema });
        keyStores.push(keyStore);
        return keyStore;
      };
      return { store, keyStore: createPostgresKeyStore({ pool: store.pool, schema: store.schema }), openAnother: another };
    },
    async teardown() {
      await Promise.all(keyStores.splice(0).map((keyStore) => keyStore.close()));
      await stores.cleanup();
    },
  });
});
