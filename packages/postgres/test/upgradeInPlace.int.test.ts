import { serviceAvailable, serviceUrls } from '@tidemark/testing';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createPostgresCheckpointStore, createPostgresEventStore, migrations } from '../src/index.js';
import { dropSchemas, randomSchemaName } from './testSchemas.js';

const available = await serviceAvailable('postgres');

/** What the code before versioned checkpoint tables ran: unqualified, through the caller's search_path. */
const oldCheckpointTables = [
  `CREATE TABLE IF NOT EXISTS tidemark_checkpoints (
    name TEXT PRIMARY KEY, position BIGINT NOT NULL, updated_at TEXT NOT NULL, failed_position BIGINT,
    failed_event_id TEXT, failed_event_type TEXT, failed_stream_id TEXT, error TEXT, attempts INTEGER, failed_at TEXT)`,
  `CREATE TABLE IF NOT EXISTS tidemark_dead_letters (
    projection TEXT NOT NULL, position BIGINT NOT NULL, event_id TEXT NOT NULL, event_type TEXT NOT NULL,
    stream_id TEXT NOT NULL, error TEXT NOT NULL, attempts INTEGER NOT NULL, parked_at TEXT NOT NULL, event TEXT NOT NULL,
    PRIMARY KEY (projection, position))`,
];

/**
 * Builds a store as the old code left it: the event schema at version 3 (its migrations are
 * unchanged), and checkpoint tables created at run time in `checkpointSchema` through search_path.
 */
async function oldStore(schema: string, checkpointSchema: string): Promise<bigint> {
  const client = new pg.Client({ connectionString: serviceUrls.postgres });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA "${schema}"`);
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${checkpointSchema}"`);
    await client.query(
      `CREATE TABLE "${schema}".tidemark_schema_version (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    for (const step of migrations(schema).filter((migration) => migration.version <= 3)) {
      await client.query(step.sql);
      await client.query(`INSERT INTO "${schema}".tidemark_schema_version (version, name) VALUES ($1, $2)`, [step.version, step.name]);
    }
    const { rows } = await client.query(`SELECT (r).first_position FROM (SELECT "${schema}".append_to_stream('a-1', -1,
      ARRAY[gen_random_uuid()], ARRAY['added'], ARRAY[1], ARRAY['{"amount":5}'], ARRAY['{}'], now(), false) AS r) appended`);
    const position = BigInt(rows[0].first_position);
    await client.query(`SET search_path TO "${checkpointSchema}"`);
    for (const statement of oldCheckpointTables) await client.query(statement);
    await client.query(
      `INSERT INTO tidemark_checkpoints (name, position, updated_at, failed_position, failed_event_id, failed_event_type,
      failed_stream_id, error, attempts, failed_at) VALUES ('sums', 0, '2026-01-01T00:00:00.000Z', $1, 'e-1', 'added', 'a-1', 'boom', 5,
      '2026-01-01T00:00:00.000Z')`,
      [position],
    );
    await client.query(
      `INSERT INTO tidemark_dead_letters VALUES ('other', $1, 'e-1', 'added', 'a-1', 'parked here', 3,
      '2026-01-01T00:00:00.000Z', '{"id":"e-1","type":"added","streamId":"a-1","version":1,"position":1,"recordedAt":"2026-01-01T00:00:00.000Z","data":{},"metadata":{},"schemaVersion":1}')`,
      [position],
    );
    return position;
  } finally {
    await client.end();
  }
}

describe.skipIf(!available)('a PostgreSQL store created by the code before versioned checkpoint tables', () => {
  const schemas: string[] = [];
  afterAll(() => dropSchemas(schemas));

  it.each([
    ['in the store schema (search_path named it)', true],
    ['in another schema of the search_path', false],
  ])('upgrades in place with its checkpoint tables %s; the data survives', async (_, sameSchema) => {
    const schema = randomSchemaName();
    const checkpointSchema = sameSchema ? schema : randomSchemaName();
    schemas.push(schema, checkpointSchema);
    const position = await oldStore(schema, checkpointSchema);
    // The application's pool as it was configured for the old code.
    const pool = new pg.Pool({ connectionString: serviceUrls.postgres, max: 2, options: `-c search_path=${checkpointSchema}` });
    try {
      const store = await createPostgresEventStore({ pool, schema });
      const checkpoints = createPostgresCheckpointStore();
      const record = await store.transaction((tx) => checkpoints.load('sums', tx));
      expect(record?.failure).toMatchObject({ position, message: 'boom', attempts: 5 });
      const failed = await store.transaction((tx) => checkpoints.failedEvents(tx));
      expect(failed.map((event) => [event.projection, event.status])).toEqual([
        ['other', 'parked'],
        ['sums', 'failed'],
      ]);
      expect((await store.readStream('a-1')).map((event) => event.data)).toEqual([{ amount: 5 }]);
      const versions = await pool.query(`SELECT version FROM "${schema}".tidemark_schema_version ORDER BY version`);
      expect(versions.rows.map((row) => row.version)).toEqual(migrations(schema).map((migration) => migration.version));
      const located = await pool.query(
        `SELECT table_schema FROM information_schema.tables WHERE table_name = 'tidemark_checkpoints' AND table_schema = ANY($1) ORDER BY 1`,
        [[schema, checkpointSchema]],
      );
      // Copied, not moved: other stores sharing the old table keep it.
      expect(located.rows.map((row) => row.table_schema)).toEqual([...new Set([schema, checkpointSchema])].sort());
      await store.close();
    } finally {
      await pool.end();
    }
  });
});
