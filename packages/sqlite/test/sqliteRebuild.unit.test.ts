import { createProjector, type EventStore, type Projection, rebuildProjection } from '@tidemark/core';
import { afterAll, describe, expect, it } from 'vitest';
import { createSqliteCheckpointStore, createSqliteEventStore, createSqliteTableSwap, type SqliteTransaction } from '../src/index.js';
import { tempSqliteFiles } from './tempSqliteFiles.js';

const files = tempSqliteFiles('tidemark-rebuild-');
afterAll(() => files.remove());

const countsProjection: Projection<SqliteTransaction> = {
  name: 'counts',
  tables: ['counts'],
  async setup(tx, tables) {
    await tx.sql.execute(`CREATE TABLE IF NOT EXISTS ${tables.name('counts')} (stream_id TEXT PRIMARY KEY, events BIGINT NOT NULL)`);
  },
  async apply(events, tx, tables) {
    const counts = tables.name('counts');
    for (const event of events) {
      await tx.sql.execute(
        `INSERT INTO ${counts} (stream_id, events) VALUES ($1, 1) ON CONFLICT (stream_id) DO UPDATE SET events = ${counts}.events + 1`,
        [event.streamId],
      );
    }
  },
};

describe('rebuildProjection on SQLite', () => {
  it('never swaps in tables behind a live projector that already reported a later position', async () => {
    const store = createSqliteEventStore({ file: files.next() });
    const checkpoints = createSqliteCheckpointStore();
    const projector = createProjector({ store, projection: countsProjection, checkpoints, batchSize: 10, pollIntervalMs: 60_000 });
    try {
      for (let i = 0; i < 30; i++) await store.appendToStream(`a-${i % 3}`, [{ type: 'test.thing.happened', data: { i } }]);
      await projector.start();
      expect(await projector.waitForPosition(await store.headPosition(), { timeoutMs: 5000 })).toBe(true);

      // Right before the rebuild swaps, more events arrive and the live projector applies them
      // and says so: it is now past the head the rebuild replayed to.
      let swapping = false;
      let interfered = false;
      const rebuildStore: EventStore<SqliteTransaction> = {
        ...store,
        async transaction(work) {
          if (swapping && !interfered) {
            interfered = true;
            for (let i = 0; i < 20; i++) await store.appendToStream(`b-${i % 2}`, [{ type: 'test.thing.happened', data: { i } }]);
            expect(await projector.waitForPosition(50n, { timeoutMs: 5000 })).toBe(true);
          }
          return store.transaction(work);
        },
      };
      await rebuildProjection({
        store: rebuildStore,
        projection: countsProjection,
        checkpoints,
        swap: createSqliteTableSwap(),
        batchSize: 5,
        onProgress: (progress) => {
          swapping ||= progress.phase === 'swapping';
        },
      });
      expect(interfered).toBe(true);

      // The projector is idle (no appends, a minute-long poll): what it reported must hold now.
      expect(await projector.waitForPosition(50n, { timeoutMs: 1000 })).toBe(true);
      const rows = await store.transaction((tx) =>
        tx.sql.query<{ stream_id: string; events: number }>('SELECT * FROM counts ORDER BY stream_id'),
      );
      expect(rows.map((row) => [row.stream_id, Number(row.events)])).toEqual([
        ['a-0', 10],
        ['a-1', 10],
        ['a-2', 10],
        ['b-0', 10],
        ['b-1', 10],
      ]);
      const checkpoint = await store.transaction((tx) => checkpoints.load('counts', tx));
      expect(checkpoint?.position).toBeGreaterThanOrEqual(50);
    } finally {
      await projector.stop();
      await store.close();
    }
  });
});
