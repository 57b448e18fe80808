import { StoreMisconfiguredError } from '@tidemark/core';
import { serviceAvailable, serviceUrls } from '@tidemark/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresEventStore, type PostgresEventStore } from '../src/index.js';
import { createAppRole, dropRole, uniqueRole } from './testRole.js';
import { createStoreFactory } from './testSchemas.js';

const available = await serviceAvailable('postgres');

/** A role whose transactions default to read-only (as on a standby): writes fail typed, naming the setting. */
describe.skipIf(!available)('PostgreSQL store on a connection that refuses writes', () => {
  const stores = createStoreFactory();
  const { role, roleUrl } = uniqueRole('tm_app');
  let admin: pg.Pool;
  let schema: string;
  let store: PostgresEventStore | undefined;

  beforeAll(async () => {
    admin = new pg.Pool({ connectionString: serviceUrls.postgres, max: 1 });
    const owner = await stores.create({ poolSize: 1 });
    await owner.appendToStream('s-0', [{ type: 'made', data: {} }]);
    schema = owner.schema;
    await createAppRole(admin, role, schema, { default_transaction_read_only: 'on' });
  });

  afterAll(async () => {
    await store?.close();
    await stores.cleanup();
    await dropRole(admin, role);
    await admin.end();
  });

  it('opens and reads, and refuses appends with StoreMisconfiguredError, writing nothing', async () => {
    store = await createPostgresEventStore({ url: roleUrl, schema, migrate: false, poolSize: 1 });
    expect((await store.readStream('s-0')).map((event) => event.version)).toEqual([1]);
    const refused = { code: 'misconfigured', details: { sqlState: '25006', setting: 'default_transaction_read_only' } };
    const append = store.appendToStream('s-0', [{ type: 'made', data: {} }]);
    await expect(append).rejects.toBeInstanceOf(StoreMisconfiguredError);
    await expect(append).rejects.toMatchObject(refused);
    await expect(store.transaction((tx) => tx.appendToStream('s-1', [{ type: 'made', data: {} }]))).rejects.toMatchObject(refused);
    const { rows } = await admin.query(`SELECT count(*)::int AS n FROM "${schema}".events`);
    expect(rows[0]?.n).toBe(1);
  });
});
