import { serviceAvailable, serviceUrls } from '@tidemark/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresEventStore } from '../src/index.js';
import { createAppRole, dropRole, uniqueRole } from './testRole.js';
import { createStoreFactory } from './testSchemas.js';

const available = await serviceAvailable('postgres');

describe.skipIf(!available)('the LISTEN connection under a role with idle_session_timeout', () => {
  const stores = createStoreFactory();
  const { role, roleUrl } = uniqueRole('tm_idlesession');
  let admin: pg.Pool;
  let schema: string;

  beforeAll(async () => {
    admin = new pg.Pool({ connectionString: serviceUrls.postgres, max: 1 });
    schema = (await stores.create({ poolSize: 1 })).schema;
    await createAppRole(admin, role, schema, { idle_session_timeout: '200ms' });
  });

  afterAll(async () => {
    await stores.cleanup();
    await dropRole(admin, role);
    await admin.end();
  });

  it('is not ended by it: one session listens throughout, not a new one per timeout', async () => {
    const store = await createPostgresEventStore({ url: roleUrl, schema, poolSize: 1 });
    const pids = new Set<number>();
    try {
      store.onAppended(() => {});
      await store.appendToStream('s-1', [{ type: 'x', data: {} }]);
      for (let sample = 0; sample < 20; sample++) {
        const { rows } = await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [
          `tidemark-listen:${schema}`,
        ]);
        for (const row of rows) pids.add(row.pid);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      await store.close();
    }
    expect(pids.size).toBe(1);
  });
});
