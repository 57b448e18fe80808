import { eventStoreContract, eventStoreModelContract, serviceAvailable, unreadableAppendContract } from '@tidemark/testing';
import { afterAll, describe } from 'vitest';
import { createStoreFactory } from './testSchemas.js';

const available = await serviceAvailable('postgres');
const stores = createStoreFactory();
const harness = { create: stores.create, teardown: stores.cleanup };

describe.skipIf(!available)('PostgreSQL', () => {
  eventStoreContract('postgres', harness);
  eventStoreModelContract('postgres', harness);
});

// The contract runs with group commit; the one-statement autocommit path reads its results back on its own.
const autocommitStores = createStoreFactory();
describe.skipIf(!available)('PostgreSQL (groupCommit: false)', () => {
  afterAll(() => autocommitStores.cleanup());
  unreadableAppendContract({ create: (options) => autocommitStores.create({ ...options, groupCommit: false }) });
});
