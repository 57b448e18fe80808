import { serviceAvailable, serviceUrls } from '@tidemark/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createPostgresEventStore,
  createPostgresOutbox,
  migrate,
  OutboxSequenceBehindError,
  PositionsRebaseRequiredError,
  type PostgresEventStore,
} from '../src/index.js';
import { uniqueRole } from './testRole.js';
import { createStoreFactory } from './testSchemas.js';

const available = await serviceAvailable('postgres');

/**
 * What a data-only restore leaves (pg_restore -t, COPY, logical replication): the outbox's rows
 * without its sequence's state, and rows whose positions come from a cluster further on.
 */
describe.skipIf(!available)('PostgreSQL store whose rows were restored without their sequences', () => {
  const stores = createStoreFactory();
  const outbox = createPostgresOutbox();
  const { role, roleUrl } = uniqueRole('tm_app');
  let admin: pg.Pool;

  /** A fresh store and an application role with DML on it and USAGE, SELECT on its sequences. */
  async function restoredStore(): Promise<string> {
    const { schema } = await stores.create({ poolSize: 1 });
    await admin.query(`GRANT USAGE ON SCHEMA "${schema}" TO ${role};
      GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "${schema}" TO ${role};
      GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "${schema}" TO ${role}`);
    // Two unpublished messages numbered by the old database; the sequence here never moved.
    await admin.query(
      `INSERT INTO "${schema}".tidemark_outbox (sequence, message_id, type, schema_version, key, data, headers, occurred_at, created_at)
       OVERRIDING SYSTEM VALUE VALUES (1, 'old-1', 'm', 1, 'k', '{}', '{}', now(), now()), (2, 'old-2', 'm', 1, 'k', '{}', '{}', now(), now())`,
    );
    return schema;
  }

  const add = (store: PostgresEventStore, id: string) =>
    store.transaction((tx) => outbox.add(tx, [{ id, type: 'm', schemaVersion: 1, key: 'k', data: {} }]));
  const pendingIds = (store: PostgresEventStore) =>
    store.transaction(async (tx) => (await outbox.pending(tx, { limit: 10 })).map((entry) => entry.message.id));

  beforeAll(async () => {
    admin = new pg.Pool({ connectionString: serviceUrls.postgres, max: 1 });
    await admin.query(`CREATE ROLE ${role} LOGIN`);
  });

  afterAll(async () => {
    await stores.cleanup();
    await admin.query(`DROP OWNED BY ${role}`).catch(() => {});
    await admin.query(`DROP ROLE IF EXISTS ${role}`);
    await admin.end();
  });

  it('advances the outbox sequence when it opens, so new messages follow the restored ones', async () => {
    const schema = await restoredStore();
    const store = await createPostgresEventStore({ url: serviceUrls.postgres, schema, poolSize: 1 });
    try {
      await add(store, 'new-1');
      expect(await pendingIds(store)).toEqual(['old-1', 'old-2', 'new-1']);
    } finally {
      await store.close();
    }
  });

  it('refuses a role that may not advance it, naming the fix, until the owner runs migrate', async () => {
    const schema = await restoredStore();
    const opening = createPostgresEventStore({ url: roleUrl, schema, migrate: false, poolSize: 1 });
    await expect(opening).rejects.toBeInstanceOf(OutboxSequenceBehindError);
    await expect(opening).rejects.toThrow(/tidemark migrate/);
    // `tidemark migrate` as the owner, on a store already at the latest version.
    expect(await migrate(admin, schema)).toEqual([]);
    const store = await createPostgresEventStore({ url: roleUrl, schema, migrate: false, poolSize: 1 });
    try {
      await add(store, 'new-1');
      expect(await pendingIds(store)).toEqual(['old-1', 'old-2', 'new-1']);
    } finally {
      await store.close();
    }
  });

  it('is rebased by migrate, the remedy PositionsRebaseRequiredError names', async () => {
    const schema = await restoredStore();
    await admin.query(`SELECT setval(pg_get_serial_sequence('"${schema}".tidemark_outbox', 'sequence'), 2)`);
    // Only the owner may change the position offset.
    await admin.query(`REVOKE UPDATE ON "${schema}".position_offset FROM ${role}`);
    // An event written on a cluster whose transaction ids ran ahead of this one's.
    await admin.query(
      `INSERT INTO "${schema}".events (position, id, stream_id, version, type, schema_version, data, metadata, recorded_at)
       VALUES ((pg_snapshot_xmax(pg_current_snapshot())::text::bigint + 1000000) << 20, gen_random_uuid(), 'moved-1', 1, 't', 1, '{}', '{}', now())`,
    );
    await expect(createPostgresEventStore({ url: roleUrl, schema, migrate: false, poolSize: 1 })).rejects.toBeInstanceOf(
      PositionsRebaseRequiredError,
    );
    expect(await migrate(admin, schema)).toEqual([]);
    const store = await createPostgresEventStore({ url: roleUrl, schema, migrate: false, poolSize: 1 });
    try {
      const appended = await store.appendToStream('moved-1', [{ type: 't', data: {} }], { expectedVersion: 1 });
      const events = await store.readStream('moved-1');
      expect(events.map((event) => event.version)).toEqual([1, 2]);
      expect(appended.position).toBeGreaterThan(events[0]?.position ?? 0n);
    } finally {
      await store.close();
    }
  });
});
