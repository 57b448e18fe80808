import { serviceAvailable } from '@tidemark/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { createStoreFactory } from './testSchemas.js';

const available = await serviceAvailable('postgres');

// What readers do with it is the port's (packages/core/test/storePollInterval.unit.test.ts).
describe.skipIf(!available)("the PostgreSQL store's pollIntervalMs", () => {
  const stores = createStoreFactory();
  afterAll(() => stores.cleanup());

  it('is what the operator set, and undefined otherwise: readers then keep their own defaults', async () => {
    expect((await stores.create({ pollIntervalMs: 100 })).pollIntervalMs).toBe(100);
    expect((await stores.create()).pollIntervalMs).toBeUndefined();
  });

  it('refuses a value no timer can keep', async () => {
    for (const pollIntervalMs of [0, -1, 1.5, 2 ** 31, Number.NaN]) {
      await expect(stores.create({ pollIntervalMs })).rejects.toMatchObject({ code: 'validation' });
    }
  });
});
