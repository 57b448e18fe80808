import { serviceAvailable, serviceUrls } from '@tidemark/testing';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createStoreFactory } from './testSchemas.js';

const available = await serviceAvailable('postgres');

describe.skipIf(!available)('stores on a pool of the caller', () => {
  const stores = createStoreFactory();
  afterEach(() => stores.cleanup());

  it('share one listener on it, no leak warning however many, and leave none behind when closed', async () => {
    const pool = new pg.Pool({ connectionString: serviceUrls.postgres, max: 2 });
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    const before = pool.listenerCount('connect');
    try {
      const opened = [];
      for (let i = 0; i < 12; i++) opened.push(await stores.create({ pool }));
      expect(pool.listenerCount('connect')).toBe(before + 1);
      // Still in force for the stores left open.
      await opened[0]?.close();
      expect(pool.listenerCount('connect')).toBe(before + 1);
      await Promise.all(opened.map((store) => store.close()));
      expect(pool.listenerCount('connect')).toBe(before);
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((warning) => warning.name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
      await pool.end();
    }
  });
});
