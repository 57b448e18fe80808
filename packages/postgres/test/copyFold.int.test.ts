import { type Evolver, type RecordedEvent, ValidationError } from '@tidemark/core';
import { serviceAvailable, serviceUrls } from '@tidemark/testing';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createPostgresEventStore } from '../src/index.js';
import { createStoreFactory, randomSchemaName } from './testSchemas.js';

const available = await serviceAvailable('postgres');

/** A fold that keeps every event it is given, to compare with what readStream returns. */
const collect: Evolver<never, RecordedEvent[]> = {
  initialState: () => [],
  evolve: (events, event) => [...events, event as unknown as RecordedEvent],
};

describe.skipIf(!available)('PostgreSQL: a fold reads events through binary COPY', () => {
  const stores = createStoreFactory();
  afterAll(() => stores.cleanup());

  it('gives evolve the very events readStream returns', async () => {
    const store = await stores.create();
    await store.appendToStream('mixed-1', [
      { type: 'Opened', data: { owner: 'Zoë 🐳', note: 'quote " backslash \\ control \u001f end' } },
      { type: 'Überwiesen', data: [1, 2.5, null, true, { nested: { deep: 'ü' } }], metadata: { correlationId: 'c-1', userId: 'u-1' } },
      { type: 'Closed', data: 'just a string', schemaVersion: 3, id: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b' },
    ]);
    const folded = await store.aggregateStream('mixed-1', collect);
    expect(folded.version).toBe(3);
    expect(folded.state).toEqual(await store.readStream('mixed-1'));
  });

  it('reads rows written by other means: microsecond timestamps, positions past 2^53, stored out of version order, holding NUL', async () => {
    // As a restored dump or an import holds them (or a store from before appends refused U+0000):
    // the store itself writes whole milliseconds, positions far below 2^53, each stream's rows in
    // version order, and no NUL.
    const schema = randomSchemaName();
    const store = await stores.create({ schema });
    await store.pool.query(
      `INSERT INTO "${schema}".events (position, id, stream_id, version, type, schema_version, data, metadata, recorded_at)
       VALUES (1152921504606846977, gen_random_uuid(), 'restored-1', 2, 'Imported', 2, '{"a":2,"note":"nul \\u0000 end"}', '{"source":"dump"}', '2026-02-03 04:05:06.789012+00'),
              (9007199254740993, gen_random_uuid(), 'restored-1', 1, 'Imported', 1, '{"a":1}', '{}', '1999-12-31 23:59:59.123456+00')`,
    );
    const folded = await store.aggregateStream('restored-1', collect);
    const read = await store.readStream('restored-1');
    expect(folded.state).toEqual(read);
    expect(read[1]?.data).toEqual({ a: 2, note: 'nul \u0000 end' });
    expect(folded.state.map((event) => [event.position, event.recordedAt.toISOString()])).toEqual([
      [9007199254740993n, '1999-12-31T23:59:59.123Z'],
      [1152921504606846977n, '2026-02-03T04:05:06.789Z'],
    ]);
  });

  it('writes stream ids with quotes and backslashes into the statement safely, whatever standard_conforming_strings says', async () => {
    const hostile = ["o'brien", 'back\\slash', "\\'", "'; DROP TABLE events; --", '$$dollar$$', "E'x'", 'a\\\\b'];
    for (const conforming of ['on', 'off']) {
      const pool = new pg.Pool({ connectionString: serviceUrls.postgres, max: 2, options: `-c standard_conforming_strings=${conforming}` });
      pool.on('error', () => {});
      const store = await createPostgresEventStore({ pool, schema: randomSchemaName(), createSchema: true });
      try {
        for (const [index, streamId] of hostile.entries()) {
          await store.appendToStream(streamId, [
            { type: 'Named', data: { index } },
            { type: 'Named', data: { index } },
          ]);
        }
        await store.appendToStream('plain', [{ type: 'Named', data: { index: -1 } }]);
        for (const [index, streamId] of hostile.entries()) {
          const folded = await store.aggregateStream(streamId, collect);
          expect(folded.state.map((event) => [event.streamId, event.data])).toEqual([
            [streamId, { index }],
            [streamId, { index }],
          ]);
          expect((await store.aggregateStream(streamId, collect, { upToVersion: 1 })).version).toBe(1);
          expect((await store.aggregateStream(streamId, collect, { asOf: new Date(Date.now() + 60_000) })).version).toBe(2);
          expect(await store.transaction((tx) => tx.aggregateStream(streamId, collect))).toMatchObject({ version: 2 });
        }
        expect((await store.aggregateStream('plain', collect)).version).toBe(1);
      } finally {
        await store.close();
        await pool.query(`DROP SCHEMA IF EXISTS "${store.schema}" CASCADE`).catch(() => {});
        await pool.end();
      }
    }
  });

  it('cuts at asOf to the millisecond', async () => {
    const store = await stores.create();
    await store.appendToStream('timed-1', [{ type: 'First', data: {} }]);
    const [first] = await store.readStream('timed-1');
    await new Promise((resolve) => setTimeout(resolve, 5));
    await store.appendToStream('timed-1', [{ type: 'Second', data: {} }]);
    const at = (first as RecordedEvent).recordedAt;
    expect((await store.aggregateStream('timed-1', collect, { asOf: at })).version).toBe(1);
    expect((await store.aggregateStream('timed-1', collect, { asOf: new Date(at.getTime() - 1) })).version).toBe(0);
  });

  it("refuses a pool in pg's pipeline mode, whose clients refuse a COPY's Submittable", async () => {
    const pool = new pg.Pool({ connectionString: serviceUrls.postgres, pipeline: true } as pg.PoolConfig);
    try {
      await expect(createPostgresEventStore({ pool, schema: randomSchemaName(), createSchema: true })).rejects.toThrow(ValidationError);
    } finally {
      await pool.end();
    }
  });
});
