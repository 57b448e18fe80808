import { PermissionDeniedError } from '@tidemark/core';
import { serviceAvailable, serviceUrls } from '@tidemark/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresEventStore, createPostgresSnapshotStore, type PostgresEventStore } from '../src/index.js';
import { uniqueRole } from './testRole.js';
import { createStoreFactory } from './testSchemas.js';

const available = await serviceAvailable('postgres');

/** A role missing one of the grants a store needs gets a typed error naming the object, never a raw 42501. */
describe.skipIf(!available)('PostgreSQL store opened by a role missing a privilege', () => {
  const stores = createStoreFactory();
  const opened: PostgresEventStore[] = [];
  const { role, roleUrl } = uniqueRole('tm_app');
  let admin: pg.Pool;

  /** A fresh store with s-0 at version 1, and `grants` (with `$s` for its quoted schema) given to the role. */
  async function storeGranting(grants: string): Promise<string> {
    const store = await stores.create({ poolSize: 1 });
    await store.appendToStream('s-0', [{ type: 'made', data: {} }]);
    if (grants) await admin.query(grants.replaceAll('$s', `"${store.schema}"`));
    return store.schema;
  }
  const openAsRole = async (schema: string) => {
    const store = await createPostgresEventStore({ url: roleUrl, schema, migrate: false, poolSize: 1 });
    opened.push(store);
    return store;
  };
  const denied = (objectType: string, object: string) => ({
    code: 'permission_denied',
    details: { sqlState: '42501', objectType, object },
  });

  beforeAll(async () => {
    admin = new pg.Pool({ connectionString: serviceUrls.postgres, max: 1 });
    await admin.query(`CREATE ROLE ${role} LOGIN`);
  });

  afterAll(async () => {
    await Promise.all(opened.splice(0).map((store) => store.close()));
    await stores.cleanup();
    await admin.query(`DROP OWNED BY ${role}`).catch(() => {});
    await admin.query(`DROP ROLE IF EXISTS ${role}`);
    await admin.end();
  });

  it('refuses to open without USAGE on the schema, naming the schema', async () => {
    const schema = await storeGranting('');
    const opening = openAsRole(schema);
    await expect(opening).rejects.toBeInstanceOf(PermissionDeniedError);
    await expect(opening).rejects.toMatchObject(denied('schema', schema));
    await expect(opening).rejects.toThrow(new RegExp(`permission denied for schema ${schema}`));
  });

  it('refuses to open without SELECT on tidemark_schema_version, naming it', async () => {
    const schema = await storeGranting(`GRANT USAGE ON SCHEMA $s TO ${role}`);
    await expect(openAsRole(schema)).rejects.toMatchObject(denied('table', 'tidemark_schema_version'));
  });

  it('refuses to open without SELECT on events, naming it', async () => {
    const schema = await storeGranting(`GRANT USAGE ON SCHEMA $s TO ${role};
      GRANT SELECT ON ALL TABLES IN SCHEMA $s TO ${role}; REVOKE SELECT ON $s.events FROM ${role}`);
    await expect(openAsRole(schema)).rejects.toMatchObject(denied('table', 'events'));
  });

  it('types the refusals of later operations, appends in and out of transactions included', async () => {
    const schema = await storeGranting(`GRANT USAGE ON SCHEMA $s TO ${role};
      GRANT SELECT ON ALL TABLES IN SCHEMA $s TO ${role}; GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA $s TO ${role};
      REVOKE SELECT ON $s.tidemark_event_schemas FROM ${role}`);
    const store = await openAsRole(schema);
    expect((await store.readStream('s-0')).map((event) => event.version)).toEqual([1]);

    const append = store.appendToStream('s-0', [{ type: 'made', data: {} }]);
    await expect(append).rejects.toBeInstanceOf(PermissionDeniedError);
    await expect(append).rejects.toMatchObject(denied('table', 'events'));
    await expect(
      store.transaction((tx) => tx.appendToStream('s-0', [{ type: 'made', data: {} }], { expectedVersion: 1 })),
    ).rejects.toMatchObject(denied('table', 'events'));
    await expect(store.eventSchemas?.list()).rejects.toMatchObject(denied('table', 'tidemark_event_schemas'));
    const { rows } = await admin.query(`SELECT count(*)::int AS n FROM "${schema}".events`);
    expect(rows[0]?.n).toBe(1);
  });

  it("types the snapshot store's refusals as the store's", async () => {
    const schema = await storeGranting(`GRANT USAGE ON SCHEMA $s TO ${role};
      GRANT SELECT ON ALL TABLES IN SCHEMA $s TO ${role}; REVOKE SELECT ON $s.tidemark_snapshots FROM ${role}`);
    const snapshots = createPostgresSnapshotStore({ store: await openAsRole(schema) });
    await expect(snapshots.load('s-0', 'balance')).rejects.toMatchObject(denied('table', 'tidemark_snapshots'));
  });
});
