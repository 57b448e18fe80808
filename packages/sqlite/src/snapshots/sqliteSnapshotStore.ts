import { assertValidStreamId, checkSnapshot, checkSnapshotQuery, type Snapshot, type SnapshotStore } from '@tidemark/core';
import type { Database } from 'better-sqlite3';
import { preparedPerConnection } from '../eventStore/preparedPerConnection.js';
import type { SqliteEventStore } from '../eventStore/sqliteEventStore.js';

export interface SqliteSnapshotStoreOptions {
  /** The event store whose file holds the snapshots (its migrations create the table). */
  store: SqliteEventStore;
}

interface SnapshotRow extends Record<string, unknown> {
  stream_version: number;
  position: number;
  recorded_at: number;
  schema_version: number;
  payload: Uint8Array;
}

const prepare = (db: Database) => ({
  save: db.prepare<[string, string, number, number, number, number, Uint8Array]>(
    `INSERT INTO tidemark_snapshots (stream_id, name, stream_version, position, recorded_at, schema_version, payload)
     VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (stream_id, name, stream_version) DO UPDATE SET
       position = excluded.position, recorded_at = excluded.recorded_at,
       schema_version = excluded.schema_version, payload = excluded.payload`,
  ),
  deleteStream: db.prepare<[string]>('DELETE FROM tidemark_snapshots WHERE stream_id = ?'),
});

/** The latest snapshot at or before the bounds: one descending seek on the primary key. */
const loadSql = `SELECT stream_version, position, recorded_at, schema_version, payload FROM tidemark_snapshots
  WHERE stream_id = $1 AND name = $2 AND stream_version <= $3 AND recorded_at <= $4
  ORDER BY stream_version DESC LIMIT 1`;

/**
 * Snapshots in the event store's SQLite file. Writes go through the store's write transaction
 * (queued behind appends like any writer: one short insert per `every` events); loads run on
 * its read connection, so they never wait for the writer.
 *
 * A save commits 'relaxed' (not flushed on its own): a snapshot is a cache of what the events
 * already hold, and one lost to a power cut is only an older starting point for the next load —
 * the WAL keeps commits in order, so it cannot outlive the events it was taken from. It saves
 * the writer connection a synchronous fsync per snapshot (under the shop's deposit load, its
 * snapshots every 100 events were the most frequent flush besides the appends' own, about 3% of
 * the event loop). Deletion (erasure) stays fully durable.
 */
const relaxed = { durability: 'relaxed' } as const;

export function createSqliteSnapshotStore(options: SqliteSnapshotStoreOptions): SnapshotStore {
  const { store } = options;
  const statements = preparedPerConnection(prepare);
  return {
    async save(snapshot) {
      checkSnapshot(snapshot);
      await store.transaction(async (tx) => {
        statements(tx).save.run(
          snapshot.streamId,
          snapshot.name,
          snapshot.streamVersion,
          Number(snapshot.position),
          snapshot.recordedAt.getTime(),
          snapshot.schemaVersion,
          snapshot.payload,
        );
      }, relaxed);
    },
    async load(streamId, name, query) {
      assertValidStreamId(streamId);
      checkSnapshotQuery(query);
      const [row] = await store.queries.query<SnapshotRow>(loadSql, [
        streamId,
        name,
        query?.maxVersion ?? Number.MAX_SAFE_INTEGER,
        query?.asOf?.getTime() ?? Number.MAX_SAFE_INTEGER,
      ]);
      if (row === undefined) return undefined;
      const snapshot: Snapshot = {
        streamId,
        name,
        streamVersion: row.stream_version,
        position: BigInt(row.position),
        recordedAt: new Date(row.recorded_at),
        schemaVersion: row.schema_version,
        payload: row.payload,
      };
      return snapshot;
    },
    async deleteStream(streamId) {
      assertValidStreamId(streamId);
      await store.transaction(async (tx) => {
        statements(tx).deleteStream.run(streamId);
      });
    },
  };
}
