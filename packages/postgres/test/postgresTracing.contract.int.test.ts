import { appendTracingContract, serviceAvailable } from '@tidemark/testing';
import { describe } from 'vitest';
import { createStoreFactory } from './testSchemas.js';

const available = await serviceAvailable('postgres');
const stores = createStoreFactory();

describe.skipIf(!available)('PostgreSQL', () => {
  appendTracingContract('postgres', { create: stores.create, teardown: stores.cleanup });
});
