import { randomBytes } from 'node:crypto';
import { createProjector, type Projection, SchemaBehindError, StoreNotFoundError } from '@tidemark/core';
import { serviceAvailable, serviceUrls } from '@tidemark/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresCheckpointStore, createPostgresEventStore, type PostgresTransaction } from '../src/index.js';
import { createStoreFactory, randomSchemaName } from './testSchemas.js';

const available = await serviceAvailable('postgres');

describe.skipIf(!available)('PostgreSQL store opened by a role with only USAGE, DML and EXECUTE', () => {
  const stores = createStoreFactory();
  const role = `tm_app_${randomBytes(5).toString('hex')}`;
  const roleUrl = (() => {
    const url = new URL(serviceUrls.postgres);
    url.username = role;
    url.password = '';
    return url.toString();
  })();
  let admin: pg.Pool;
  let schema: string;

  beforeAll(async () => {
    admin = new pg.Pool({ connectionString: serviceUrls.postgres, max: 1 });
    const store = await stores.create();
    schema = store.schema;
    await admin.query(`CREATE ROLE ${role} LOGIN`);
    await admin.query(`CREATE TABLE "${schema}".sums (stream_id text PRIMARY KEY, total bigint NOT NULL)`);
    await admin.query(`GRANT USAGE ON SCHEMA "${schema}" TO ${role}`);
    await admin.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "${schema}" TO ${role}`);
    await admin.query(`GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA "${schema}" TO ${role}`);
  });

  afterAll(async () => {
    await stores.cleanup();
    await admin.query(`DROP OWNED BY ${role}`).catch(() => {});
    await admin.query(`DROP ROLE IF EXISTS ${role}`);
    await admin.end();
  });

  it('appends, reads, folds and projects with checkpoints, running no DDL', async () => {
    const store = await createPostgresEventStore({ url: roleUrl, schema, poolSize: 2 });
    const checkpoints = createPostgresCheckpointStore();
    const projection: Projection<PostgresTransaction> = {
      name: 'sums',
      async apply(events, tx) {
        for (const event of events) {
          await tx.sql.execute(
            `INSERT INTO "${schema}".sums (stream_id, total) VALUES ($1, $2)
             ON CONFLICT (stream_id) DO UPDATE SET total = sums.total + excluded.total`,
            [event.streamId, (event.data as { amount: number }).amount],
          );
        }
      },
    };
    const projector = createProjector({ store, projection, checkpoints, pollIntervalMs: 50 });
    try {
      await store.appendToStream('a-1', [{ type: 'added', data: { amount: 2 } }]);
      const last = await store.transaction((tx) => tx.appendToStream('a-1', [{ type: 'added', data: { amount: 3 } }]));
      expect((await store.readStream('a-1')).map((event) => event.version)).toEqual([1, 2]);
      // A fold is a COPY … TO STDOUT, which needs no more than SELECT.
      const folded = await store.aggregateStream('a-1', {
        initialState: () => 0,
        evolve: (sum, event) => sum + (event.data as { amount: number }).amount,
      });
      expect(folded).toMatchObject({ state: 5, version: 2 });
      await projector.start();
      expect(await projector.waitForPosition(last.position, { timeoutMs: 10_000 })).toBe(true);
      const { rows } = await admin.query(`SELECT total FROM "${schema}".sums WHERE stream_id = 'a-1'`);
      expect(Number(rows[0]?.total)).toBe(5);
    } finally {
      await projector.stop();
      await store.close();
    }
  });

  it('refuses a store behind the code with migrate: false, and runs no DDL', async () => {
    const behind = (await stores.create({ poolSize: 1 })).schema;
    await admin.query(`GRANT USAGE ON SCHEMA "${behind}" TO ${role}`);
    await admin.query(`GRANT SELECT ON ALL TABLES IN SCHEMA "${behind}" TO ${role}`);
    await admin.query(
      `DELETE FROM "${behind}".tidemark_schema_version WHERE version = (SELECT max(version) FROM "${behind}".tidemark_schema_version)`,
    );
    await expect(createPostgresEventStore({ url: roleUrl, schema: behind, migrate: false })).rejects.toBeInstanceOf(SchemaBehindError);
  });

  it('refuses a named schema that holds no store unless createSchema is asked, and creates nothing', async () => {
    const typo = randomSchemaName();
    await expect(createPostgresEventStore({ url: serviceUrls.postgres, schema: typo, poolSize: 1 })).rejects.toBeInstanceOf(
      StoreNotFoundError,
    );
    const { rows } = await admin.query('SELECT to_regnamespace($1) IS NOT NULL AS found', [typo]);
    expect(rows[0]?.found).toBe(false);
  });
});
