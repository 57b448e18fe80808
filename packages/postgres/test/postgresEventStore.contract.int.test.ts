import { eventStoreContract, eventStoreModelContract, serviceAvailable } from '@tidemark/testing';
import { describe } from 'vitest';
import { createStoreFactory } from './testSchemas.js';

const available = await serviceAvailable('postgres');
const stores = createStoreFactory();
const harness = { create: stores.create, teardown: stores.cleanup };

describe.skipIf(!available)('PostgreSQL', () => {
  eventStoreContract('postgres', harness);
  eventStoreModelContract('postgres', harness);
});
