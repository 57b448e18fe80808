import { randomBytes } from 'node:crypto';
import { type Projection, type RebuildProgress, RebuildRefusedError, rebuildProjection } from '@tidemark/core';
import { serviceAvailable, serviceUrls, waitFor } from '@tidemark/testing';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createPostgresCheckpointStore,
  createPostgresEventStore,
  createPostgresTableSwap,
  type PostgresEventStore,
  type PostgresTransaction,
} from '../src/index.js';
import { dropSchemas, randomSchemaName } from './testSchemas.js';

const available = await serviceAvailable('postgres');

const counts: Projection<PostgresTransaction> = {
  name: 'counts',
  tables: ['counts'],
  async setup(tx, tables) {
    const table = tables.name('counts');
    await tx.sql.execute(`CREATE TABLE IF NOT EXISTS ${table} (stream_id TEXT PRIMARY KEY, events BIGINT NOT NULL)`);
    await tx.sql.execute(`CREATE INDEX IF NOT EXISTS ${table}_by_events ON ${table} (events)`);
  },
  async apply(events, tx, tables) {
    const table = tables.name('counts');
    for (const event of events) {
      await tx.sql.execute(
        `INSERT INTO ${table} (stream_id, events) VALUES ($1, 1) ON CONFLICT (stream_id) DO UPDATE SET events = ${table}.events + 1`,
        [event.streamId],
      );
    }
  },
};

describe.skipIf(!available)('rebuildProjection on PostgreSQL: the swap on a live system', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function setUp(): Promise<{ store: PostgresEventStore; admin: pg.Client; schema: string }> {
    const schema = randomSchemaName();
    cleanups.push(() => dropSchemas([schema]));
    const pool = new pg.Pool({ connectionString: serviceUrls.postgres, max: 4, options: `-c search_path=${schema}` });
    pool.on('error', () => {});
    cleanups.push(() => pool.end());
    const store = await createPostgresEventStore({ pool, schema, createSchema: true });
    cleanups.push(() => store.close());
    const admin = new pg.Client({
      connectionString: serviceUrls.postgres,
      options: `-c search_path=${schema}`,
      application_name: 'tm-test-rebuild',
    });
    await admin.connect();
    cleanups.push(() => admin.end());
    for (let i = 0; i < 30; i++) await store.appendToStream(`a-${i % 3}`, [{ type: 'test.thing.happened', data: { i } }]);
    // The live table as a projector would have made it.
    await store.transaction(async (tx) => {
      await counts.setup?.(tx, { name: (t) => t });
      await counts.apply([], tx, { name: (t) => t });
    });
    await admin.query(`INSERT INTO counts VALUES ('stale', 1)`);
    return { store, admin, schema };
  }

  const rows = async (admin: pg.Client) =>
    (await admin.query<{ stream_id: string; events: string }>('SELECT * FROM counts ORDER BY stream_id')).rows.map((r) => [
      r.stream_id,
      Number(r.events),
    ]);
  const rebuilt = [
    ['a-0', 10],
    ['a-1', 10],
    ['a-2', 10],
  ];

  it('carries the live table’s grants, row-level security and policies over to the rebuilt table', async () => {
    const { store, admin } = await setUp();
    const role = `tm_test_reader_${randomBytes(4).toString('hex')}`;
    await admin.query(`CREATE ROLE ${role} NOLOGIN`);
    cleanups.push(() => admin.query(`DROP OWNED BY ${role}; DROP ROLE IF EXISTS ${role}`));
    await admin.query(`GRANT SELECT, UPDATE ON counts TO ${role}`);
    await admin.query('ALTER TABLE counts ENABLE ROW LEVEL SECURITY');
    await admin.query(`CREATE POLICY only_busy ON counts FOR SELECT TO ${role} USING (events > 5)`);
    await admin.query(
      `CREATE POLICY no_stale ON counts AS RESTRICTIVE FOR UPDATE TO ${role} USING (stream_id <> 'stale') WITH CHECK (events >= 0)`,
    );

    await rebuildProjection({ store, projection: counts, checkpoints: createPostgresCheckpointStore(), swap: createPostgresTableSwap() });

    expect(await rows(admin)).toEqual(rebuilt);
    const privileges = await admin.query(
      `SELECT has_table_privilege($1, 'counts', 'SELECT') AS can_select, has_table_privilege($1, 'counts', 'UPDATE') AS can_update,
              has_table_privilege($1, 'counts', 'DELETE') AS can_delete`,
      [role],
    );
    expect(privileges.rows[0]).toEqual({ can_select: true, can_update: true, can_delete: false });
    const security = await admin.query(`SELECT relrowsecurity FROM pg_class WHERE oid = 'counts'::regclass`);
    expect(security.rows[0].relrowsecurity).toBe(true);
    const policies = await admin.query(
      `SELECT policyname, permissive, cmd, roles::text[] AS roles, qual, with_check FROM pg_policies WHERE tablename = 'counts' AND schemaname = current_schema() ORDER BY policyname`,
    );
    expect(policies.rows).toEqual([
      {
        policyname: 'no_stale',
        permissive: 'RESTRICTIVE',
        cmd: 'UPDATE',
        roles: [role],
        qual: "(stream_id <> 'stale'::text)",
        with_check: '(events >= 0)',
      },
      { policyname: 'only_busy', permissive: 'PERMISSIVE', cmd: 'SELECT', roles: [role], qual: '(events > 5)', with_check: null },
    ]);
    // The index got its live name back.
    const indexes = await admin.query(
      `SELECT indexname FROM pg_indexes WHERE tablename = 'counts' AND schemaname = current_schema() ORDER BY 1`,
    );
    expect(indexes.rows.map((r) => r.indexname)).toEqual(['counts_by_events', 'counts_pkey']);
  });

  it('refuses a table with a view on it before replaying anything, naming the view', async () => {
    const { store, admin } = await setUp();
    await admin.query('CREATE VIEW busy_counts AS SELECT * FROM counts WHERE events > 5');
    const progress: RebuildProgress[] = [];
    const rebuilding = rebuildProjection({
      store,
      projection: counts,
      checkpoints: createPostgresCheckpointStore(),
      swap: createPostgresTableSwap(),
      onProgress: (p) => progress.push(p),
    });
    await expect(rebuilding).rejects.toBeInstanceOf(RebuildRefusedError);
    await expect(rebuilding).rejects.toMatchObject({
      code: 'rebuild_refused',
      details: { table: 'counts', dependents: [{ name: 'busy_counts', kind: 'view' }] },
    });
    expect(progress).toEqual([]);
    // Nothing built, nothing swapped: the view and the live table are as they were.
    const shadows = await admin.query(
      `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE 'counts_rb%'`,
    );
    expect(shadows.rows).toEqual([]);
    expect(await rows(admin)).toEqual([['stale', 1]]);
    expect((await admin.query('SELECT count(*)::int AS n FROM busy_counts')).rows[0].n).toBe(0);
  });

  it('does not queue its exclusive lock in front of readers while a long report holds the table', async () => {
    const { store, admin, schema } = await setUp();
    // The long report: a transaction that has read the table and holds its ACCESS SHARE lock.
    await admin.query('BEGIN');
    await admin.query('SELECT count(*) FROM counts');
    let lockTimeouts = 0;
    const watched: PostgresEventStore = {
      ...store,
      isTransient(error) {
        const transient = store.isTransient?.(error) ?? false;
        // The store rethrows the lock timeout typed, with the driver's error as its cause.
        if (transient && (error as { cause?: { code?: string } }).cause?.code === '55P03') lockTimeouts++;
        return transient;
      },
    };
    const rebuilding = rebuildProjection({
      store: watched,
      projection: counts,
      checkpoints: createPostgresCheckpointStore(),
      swap: createPostgresTableSwap({ lockTimeoutMs: 50 }),
    });
    rebuilding.catch(() => {});
    const reader = new pg.Client({
      connectionString: serviceUrls.postgres,
      options: `-c search_path=${schema}`,
      application_name: 'tm-test-rebuild-reader',
    });
    await reader.connect();
    cleanups.push(() => reader.end());
    try {
      await waitFor(() => lockTimeouts >= 2, 'the swap to give up its lock request twice', 30_000);
      // A new reader still gets in while the report runs. Before, it queued behind the swap's
      // exclusive lock request, itself queued behind the report: its lock_timeout (generous,
      // only there so the test cannot hang) expired.
      await reader.query("SET lock_timeout = '10s'");
      const read = await reader.query<{ n: number }>('SELECT count(*)::int AS n FROM counts');
      expect(read.rows[0]?.n).toBe(1);
    } finally {
      await admin.query('COMMIT');
    }
    await rebuilding;
    expect(await rows(admin)).toEqual(rebuilt);
  });
});
