import { type EventStore, type Projection, type RebuildProgress, RebuildRefusedError, rebuildProjection } from '@tidemark/core';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { createSqliteCheckpointStore, createSqliteEventStore, createSqliteTableSwap, type SqliteTransaction } from '../src/index.js';
import { tempSqliteFiles } from './tempSqliteFiles.js';

const files = tempSqliteFiles('tidemark-swap-');
afterAll(() => files.remove());

/** One row per event, indexed by stream: a table whose index costs real work to build. */
const seen: Projection<SqliteTransaction> = {
  name: 'seen',
  tables: ['seen'],
  async setup(tx, tables) {
    const table = tables.name('seen');
    await tx.sql.execute(
      `CREATE TABLE IF NOT EXISTS ${table} (event_id TEXT PRIMARY KEY, stream_id TEXT NOT NULL, position INTEGER NOT NULL)`,
    );
    await tx.sql.execute(`CREATE INDEX IF NOT EXISTS ${table}_by_stream ON ${table} (stream_id, position)`);
  },
  async apply(events, tx, tables) {
    const insert = tx.db.prepare(`INSERT INTO ${tables.name('seen')} (event_id, stream_id, position) VALUES (?, ?, ?)`);
    for (const event of events) insert.run(event.id, event.streamId, event.position);
  },
};

const eventCount = 20_000;

async function filledStore(): Promise<{ store: EventStore<SqliteTransaction>; file: string }> {
  const file = files.next();
  const store = createSqliteEventStore({ file });
  for (let i = 0; i < eventCount / 1000; i++) {
    await store.appendToStream(
      `s-${i}`,
      Array.from({ length: 1000 }, (_, n) => ({ type: 'test.thing.happened', data: { n } })),
    );
  }
  // The live table, as a projector would have made it.
  await store.transaction((tx) => seen.setup?.(tx, { name: (t) => t }) ?? Promise.resolve());
  return { store, file };
}

const indexes = (db: Database.Database, table: string) =>
  db
    .prepare<[string], { name: string; rootpage: number }>(
      `SELECT name, rootpage FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL ORDER BY name`,
    )
    .all(table);

describe('the SQLite rebuild swap', () => {
  it('is a rename: the index built during the replay is the one swapped in, under its live name', async () => {
    const { store, file } = await filledStore();
    const observer = new Database(file, { readonly: true });
    try {
      let shadowIndexes: Array<{ name: string; rootpage: number }> = [];
      const onProgress = (progress: RebuildProgress) => {
        // Reported right before the swap transaction: the shadow's index is complete by now.
        if (progress.phase !== 'swapping') return;
        const shadow = observer
          .prepare<[], { name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'seen_rb%'`)
          .get();
        shadowIndexes = indexes(observer, shadow?.name ?? '');
      };
      const swap = createSqliteTableSwap();
      await rebuildProjection({ store, projection: seen, checkpoints: createSqliteCheckpointStore(), swap, batchSize: 2000, onProgress });
      expect(shadowIndexes).toHaveLength(1);
      const live = indexes(observer, 'seen');
      expect(live.map((index) => index.name)).toEqual(['seen_by_stream']);
      // Same b-tree: the swap did not build the index again under the write lock (before, it
      // dropped and re-created every index of the table inside the swap transaction).
      expect(live[0]?.rootpage).toBe(shadowIndexes[0]?.rootpage);
      expect(observer.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(observer.prepare('SELECT count(*) AS n FROM seen').get()).toEqual({ n: eventCount });
      const plan = observer.prepare<[], { detail: string }>(`EXPLAIN QUERY PLAN SELECT position FROM seen WHERE stream_id = 's-3'`).all();
      expect(plan.map((row) => row.detail).join(' ')).toMatch(/seen_by_stream/);

      // The writer's connection sees the renamed index too, and the next rebuild reuses the names.
      await rebuildProjection({ store, projection: seen, checkpoints: createSqliteCheckpointStore(), swap });
      expect(indexes(observer, 'seen').map((index) => index.name)).toEqual(['seen_by_stream']);
      await store.transaction((tx) => seen.setup?.(tx, { name: (t) => t }) ?? Promise.resolve());
      expect(indexes(observer, 'seen').map((index) => index.name)).toEqual(['seen_by_stream']);
    } finally {
      observer.close();
      await store.close();
    }
  });

  it('refuses a table a view depends on before replaying anything', async () => {
    const { store, file } = await filledStore();
    const admin = new Database(file);
    try {
      admin.exec('CREATE VIEW seen_streams AS SELECT DISTINCT stream_id FROM seen');
      const progress: RebuildProgress[] = [];
      const rebuilding = rebuildProjection({
        store,
        projection: seen,
        checkpoints: createSqliteCheckpointStore(),
        swap: createSqliteTableSwap(),
        onProgress: (p) => progress.push(p),
      });
      await expect(rebuilding).rejects.toBeInstanceOf(RebuildRefusedError);
      await expect(rebuilding).rejects.toMatchObject({ details: { table: 'seen', dependents: [{ name: 'seen_streams', kind: 'view' }] } });
      expect(progress).toEqual([]);
      expect(admin.prepare(`SELECT name FROM sqlite_master WHERE name LIKE 'seen_rb%'`).all()).toEqual([]);
    } finally {
      admin.close();
      await store.close();
    }
  });
});
