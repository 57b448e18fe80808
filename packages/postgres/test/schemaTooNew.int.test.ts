import { serviceAvailable, serviceUrls } from '@tidemark/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresEventStore, migrate, migrations, SchemaTooNewError } from '../src/index.js';
import { createStoreFactory } from './testSchemas.js';

const available = await serviceAvailable('postgres');

describe.skipIf(!available)('PostgreSQL store migrated by a newer release', () => {
  const stores = createStoreFactory();
  const latest = migrations('tidemark').at(-1)?.version ?? 0;
  let admin: pg.Pool;
  let schema: string;

  beforeAll(async () => {
    admin = new pg.Pool({ connectionString: serviceUrls.postgres, max: 1 });
    schema = (await stores.create({ poolSize: 1 })).schema;
    // What a newer release leaves: a step this code does not know, recorded as applied.
    await admin.query(`INSERT INTO "${schema}".tidemark_schema_version (version, name) VALUES ($1, 'events: from the future')`, [
      latest + 1,
    ]);
  });

  afterAll(async () => {
    await stores.cleanup();
    await admin.end();
  });

  it.each([true, false])('is refused with SchemaTooNewError (migrate: %s)', async (migrateOption) => {
    const opening = createPostgresEventStore({ url: serviceUrls.postgres, schema, migrate: migrateOption, poolSize: 1 });
    await expect(opening).rejects.toBeInstanceOf(SchemaTooNewError);
    await expect(opening).rejects.toMatchObject({ found: latest + 1, supported: latest, details: { schema } });
  });

  it('is refused by migrate (tidemark migrate), which changes nothing', async () => {
    await expect(migrate(admin, schema)).rejects.toBeInstanceOf(SchemaTooNewError);
    const { rows } = await admin.query(`SELECT max(version)::integer AS version FROM "${schema}".tidemark_schema_version`);
    expect(rows[0]?.version).toBe(latest + 1);
  });
});
