import {
  assertValidStreamId,
  checkTruncate,
  StreamDeletedError,
  StreamNotFoundError,
  type TruncateStreamOptions,
  type TruncateStreamResult,
} from '@tidemark/core';
import type { Database } from 'better-sqlite3';

/**
 * One row per stream that left the ordinary life: tombstoned (deleted_at) or archived up to a
 * version (first_version). The append writer reads the tombstone in the same statement as the
 * stream's version (sqliteStatements' appendHead): one more index seek per append. A trigger on
 * the events table would also stop raw SQL, but it nearly doubled the CPU cost of an insert.
 */
export const sqliteStreamLifecycleTables: readonly string[] = [
  `CREATE TABLE tidemark_streams (
    stream_id TEXT PRIMARY KEY,
    deleted_at INTEGER,
    first_version INTEGER NOT NULL DEFAULT 1
  ) STRICT, WITHOUT ROWID`,
];

/** (streamId) → [deleted, firstVersion], or undefined for a stream living an ordinary life. */
export const streamLifecycleSql = 'SELECT deleted_at IS NOT NULL, first_version FROM tidemark_streams WHERE stream_id = ?';

export interface SqliteStreamLifecycle {
  tombstone(streamId: string, now: number): void;
  truncate(streamId: string, options: TruncateStreamOptions): TruncateStreamResult;
}

/** The writes, on the writer connection; the caller holds the write transaction. */
export function createSqliteStreamLifecycle(db: Database): SqliteStreamLifecycle {
  const version = db.prepare<[string], number>('SELECT max(version) FROM events WHERE stream_id = ?').pluck();
  const lifecycle = db.prepare<[string], [number, number]>(streamLifecycleSql).raw();
  const tombstone = db.prepare<[string, number]>(
    `INSERT INTO tidemark_streams (stream_id, deleted_at) VALUES (?, ?)
     ON CONFLICT (stream_id) DO UPDATE SET deleted_at = coalesce(deleted_at, excluded.deleted_at)`,
  );
  const remove = db.prepare<[string, number]>('DELETE FROM events WHERE stream_id = ? AND version < ?');
  const markTruncated = db.prepare<[string, number]>(
    `INSERT INTO tidemark_streams (stream_id, first_version) VALUES (?, ?)
     ON CONFLICT (stream_id) DO UPDATE SET first_version = max(first_version, excluded.first_version)`,
  );
  return {
    tombstone(streamId, now) {
      assertValidStreamId(streamId);
      if (version.get(streamId) == null) throw new StreamNotFoundError(streamId);
      tombstone.run(streamId, now);
    },
    truncate(streamId, options) {
      assertValidStreamId(streamId);
      const [deleted, first] = lifecycle.get(streamId) ?? [0, 1];
      const before = checkTruncate(streamId, options, version.get(streamId) ?? 0, deleted === 1);
      const removed = remove.run(streamId, before).changes;
      markTruncated.run(streamId, before);
      return { removed, firstVersion: Math.max(first, before) };
    },
  };
}

/** What per-stream reads check first: a deleted stream throws, a truncated one reports its first version. */
export function assertStreamReadable(row: [number, number] | undefined, streamId: string): number {
  if (row === undefined) return 1;
  if (row[0] === 1) throw new StreamDeletedError(streamId);
  return row[1];
}
