import { ConcurrencyError, type RecordedEvent, ValidationError } from '@tidemark/core';
import { serviceAvailable, serviceUrls, waitFor } from '@tidemark/testing';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createPostgresEventStore, migrate, migrations, StreamOrderConflictError } from '../src/index.js';
import { createStoreFactory, dropSchemas, randomSchemaName } from './testSchemas.js';

const available = await serviceAvailable('postgres');

async function collect(iterable: AsyncIterable<RecordedEvent>): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for await (const event of iterable) events.push(event);
  return events;
}

describe.skipIf(!available)('PostgreSQL store robustness', () => {
  const stores = createStoreFactory();
  afterEach(() => stores.cleanup());

  it('stores SQL metacharacters in stream ids, types and filters verbatim', async () => {
    const store = await stores.create();
    const nasty = ["'; DROP TABLE events; --", '%', '_', '\\', '"quoted"', "it's", 'a%-1', 'a_-1', '$1', 'ünï-ç😀'];
    for (const name of nasty) await store.appendToStream(name, [{ type: name, data: { name, text: "'; --\\%_" } }]);
    for (const name of nasty) {
      const [event] = await store.readStream(name);
      expect(event).toMatchObject({ streamId: name, type: name, data: { name, text: "'; --\\%_" } });
    }
    // Filters are bound parameters compared for equality, never LIKE patterns.
    expect((await collect(store.readAll({ types: ['%'] }))).map((e) => e.streamId)).toEqual(['%']);
    expect((await collect(store.readAll({ types: ['_'] }))).map((e) => e.streamId)).toEqual(['_']);
    expect((await collect(store.readAll({ categories: ['a%'] }))).map((e) => e.streamId)).toEqual(['a%-1']);
    expect((await collect(store.readAll({ categories: ["'; DROP TABLE events; "] }))).map((e) => e.type)).toEqual([
      "'; DROP TABLE events; --",
    ]);
    expect(await collect(store.readAll())).toHaveLength(nasty.length);
  });

  it('keeps data byte for byte, including what jsonb would reorder', async () => {
    const store = await stores.create();
    // (U+0000 and lone surrogates are refused before they get here: see the bad-input contract.)
    const data = { z: 1, a: '\\u0000 looks like NUL', pair: '\ud83c\udf0a', nested: { b: [1, 2.5, null], a: true } };
    await store.appendToStream('json-1', [{ type: 't', data }]);
    const [event] = await store.readStream('json-1');
    expect(JSON.stringify(event?.data)).toBe(JSON.stringify(data));
  });

  it('refuses schema names outside the allow-list before connecting', async () => {
    for (const schema of ['Tidemark', '1abc', 'a-b', 'a"b', 'x'.repeat(64), '', 'public; drop', 'ä']) {
      await expect(createPostgresEventStore({ url: serviceUrls.postgres, schema })).rejects.toBeInstanceOf(ValidationError);
    }
  });

  it('migrates idempotently when several processes start at once', async () => {
    const schema = randomSchemaName();
    const created = await Promise.all([0, 1, 2, 3].map(() => stores.create({ schema, poolSize: 2 })));
    const pool = new pg.Pool({ connectionString: serviceUrls.postgres, max: 1 });
    try {
      expect(await migrate(pool, schema)).toEqual([]);
      const versions = await pool.query(`SELECT version FROM "${schema}".tidemark_schema_version ORDER BY version`);
      expect(versions.rows.map((row) => row.version)).toEqual(migrations(schema).map((m) => m.version));
    } finally {
      await pool.end();
    }
    await created[0]!.appendToStream('m-1', [{ type: 't', data: {} }]);
    expect(await created[3]!.readStream('m-1')).toHaveLength(1);
  });

  it('re-establishes a dropped LISTEN connection and wakes readers from other processes again', async () => {
    const listening = await stores.create();
    const other = await stores.create({ schema: listening.schema });
    let wakeUps = 0;
    listening.onAppended(() => wakeUps++);
    const admin = new pg.Client({ connectionString: serviceUrls.postgres });
    await admin.connect();
    const listenerPid = async (): Promise<number | undefined> => {
      const result = await admin.query(`SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN%'`, [
        `tidemark-listen:${listening.schema}`,
      ]);
      return result.rows[0]?.pid;
    };
    try {
      await waitFor(async () => (await listenerPid()) !== undefined, 'the LISTEN connection', 10_000);
      await other.appendToStream('n-1', [{ type: 't', data: {} }]);
      await waitFor(() => wakeUps > 0, 'a notification', 10_000);

      const first = await listenerPid();
      await admin.query('SELECT pg_terminate_backend($1)', [first]);
      const before = wakeUps;
      // A wake-up of the first notification's horizon follower may still land after this point,
      // so the reconnect is proven by the new backend, not by the count alone.
      await waitFor(
        async () => {
          const second = await listenerPid();
          return second !== undefined && second !== first;
        },
        'a new LISTEN connection',
        10_000,
      );
      // The listener wakes readers once it is back: events may have been missed meanwhile.
      await waitFor(() => wakeUps > before, 'the reconnect wake-up', 10_000);

      wakeUps = 0;
      await other.appendToStream('n-1', [{ type: 't', data: {} }]);
      await waitFor(() => wakeUps > 0, 'a notification after the reconnect', 10_000);
    } finally {
      await admin.end();
    }
  });

  it('refuses an append that would sort before a younger transaction’s events in the same stream', async () => {
    const store = await stores.create();
    await store.appendToStream('hot-1', [{ type: 'a', data: {} }]);
    let proceed!: () => void;
    const gate = new Promise<void>((resolve) => {
      proceed = resolve;
    });
    let started!: () => void;
    const hasId = new Promise<void>((resolve) => {
      started = resolve;
    });
    const older = store.transaction(async (tx) => {
      await tx.appendToStream('cold-1', [{ type: 'x', data: {} }]); // takes the transaction id now
      started();
      await gate;
      return tx.appendToStream('hot-1', [{ type: 'b', data: {} }]);
    });
    await hasId;
    await store.appendToStream('hot-1', [{ type: 'c', data: {} }]); // a younger transaction commits first
    proceed();
    const error = await older.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StreamOrderConflictError);
    expect(error).toBeInstanceOf(ConcurrencyError);
    expect((await store.readStream('hot-1')).map((e) => e.type)).toEqual(['a', 'c']);
    // A retry gets a new transaction id and appends in order.
    await store.transaction(async (tx) => {
      await tx.appendToStream('cold-1', [{ type: 'x', data: {} }]);
      await tx.appendToStream('hot-1', [{ type: 'b', data: {} }]);
    });
    const all = await collect(store.readAll());
    expect(all.filter((e) => e.streamId === 'hot-1').map((e) => e.version)).toEqual([1, 2, 3]);
  });

  it('uses a caller’s pool without ending it, and its own pool is ended on close', async () => {
    const schema = randomSchemaName();
    const pool = new pg.Pool({ connectionString: serviceUrls.postgres, max: 2 });
    try {
      const store = await createPostgresEventStore({ pool, schema, createSchema: true });
      await store.appendToStream('p-1', [{ type: 't', data: {} }]);
      await store.close();
      await store.close();
      const result = await pool.query(`SELECT count(*)::int AS n FROM "${schema}".events`);
      expect(result.rows[0].n).toBe(1);
    } finally {
      await pool.end();
      await dropSchemas([schema]);
    }
    const owned = await stores.create();
    await owned.close();
    expect(owned.pool.ending).toBe(true);
  });
});
