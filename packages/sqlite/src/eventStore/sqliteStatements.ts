import type { Database, Statement } from 'better-sqlite3';
import { sqliteInsertEventSql } from '../schema/sqliteSchema.js';
import { type EventRow, eventColumns, type FoldRow, foldColumns } from './sqliteRowMapping.js';
import { streamLifecycleSql } from './sqliteStreamLifecycle.js';

/**
 * Statements prepared once per connection: preparing is far dearer than running, and the hot
 * path runs a handful of them per append.
 */
export interface SqliteStatements {
  /** (streamId) → the stream's version, or undefined when it has no events. */
  streamVersion: Statement<[string], number>;
  /** (streamId, streamId) → [version or null, 1 when tombstoned or null]: what an append checks, in one statement. */
  appendHead: Statement<[string, string], [number | null, number | null]>;
  /** (id) → [streamId, version, position] raw. */
  /** id → stream_id, version, position, type, schema_version, data, metadata. */
  eventById: Statement<[string], [string, number, number, string, number, string, string]>;
  insertEvent: Statement<[string, string, number, string, number, string, string, number]>;
  /** (streamId, low, high, limit) → event rows raw. */
  readForwards: Statement<[string, number, number, number], EventRow>;
  readBackwards: Statement<[string, number, number, number], EventRow>;
  /** (streamId, low, high) → fold rows raw, in version order. */
  foldPage: Statement<[string, number, number], FoldRow>;
  /** () → the last position, 0 when empty. */
  headPosition: Statement<[], number>;
  /** (after, limit) → event rows raw, unfiltered. */
  readAll: Statement<[bigint, number], EventRow>;
  /** (streamId) → [deleted, firstVersion] raw, undefined for an ordinary stream. */
  streamLifecycle: Statement<[string], [number, number]>;
  savepoint: Statement<[]>;
  releaseSavepoint: Statement<[]>;
  rollbackToSavepoint: Statement<[]>;
}

export function prepareSqliteStatements(db: Database): SqliteStatements {
  return {
    // The top entry of the (stream_id, version) index: one seek, no scan.
    streamVersion: db.prepare<[string], number>('SELECT max(version) FROM events WHERE stream_id = ?').pluck(),
    appendHead: db
      .prepare<[string, string], [number | null, number | null]>(
        'SELECT (SELECT max(version) FROM events WHERE stream_id = ?), (SELECT 1 FROM tidemark_streams WHERE stream_id = ? AND deleted_at IS NOT NULL)',
      )
      .raw(),
    eventById: db
      .prepare<[string], [string, number, number, string, number, string, string]>(
        'SELECT stream_id, version, position, type, schema_version, data, metadata FROM events WHERE id = ?',
      )
      .raw(),
    insertEvent: db.prepare<[string, string, number, string, number, string, string, number]>(sqliteInsertEventSql),
    readForwards: db
      .prepare<[string, number, number, number], EventRow>(
        `SELECT ${eventColumns} FROM events WHERE stream_id = ? AND version BETWEEN ? AND ? ORDER BY version LIMIT ?`,
      )
      .raw(),
    readBackwards: db
      .prepare<[string, number, number, number], EventRow>(
        `SELECT ${eventColumns} FROM events WHERE stream_id = ? AND version BETWEEN ? AND ? ORDER BY version DESC LIMIT ?`,
      )
      .raw(),
    foldPage: db
      .prepare<[string, number, number], FoldRow>(
        `SELECT ${foldColumns} FROM events WHERE stream_id = ? AND version BETWEEN ? AND ? ORDER BY version`,
      )
      .raw(),
    headPosition: db.prepare<[], number>('SELECT coalesce(max(position), 0) FROM events').pluck(),
    readAll: db
      .prepare<[bigint, number], EventRow>(`SELECT ${eventColumns} FROM events WHERE position > ? ORDER BY position LIMIT ?`)
      .raw(),
    streamLifecycle: db.prepare<[string], [number, number]>(streamLifecycleSql).raw(),
    // One fixed name: savepoints nest as a stack, so an append made from inside a hook still
    // releases or rolls back only its own. That holds because a transaction's appends never
    // interleave (appendTurns.ts): the innermost savepoint is always the running append's.
    savepoint: db.prepare('SAVEPOINT tidemark_append'),
    releaseSavepoint: db.prepare('RELEASE tidemark_append'),
    rollbackToSavepoint: db.prepare('ROLLBACK TO tidemark_append'),
  };
}

/** A readAll statement for one filter shape, and how to bind pages of it for one filter's values. */
export interface FilteredReadAll {
  statement: Statement<unknown[], EventRow>;
  /** Binds the values once per read; the result gives each page's parameters. */
  parameters(types: readonly string[], categories: readonly string[]): (after: bigint, limit: number) => unknown[];
}

/**
 * Up to this many types (or categories), a page is a UNION ALL of per-value index range scans;
 * beyond it, one walk of the log in position order. Each branch may return a full page that the
 * merge then drops, so branches cost more as they multiply, while the walk costs the stretch of
 * log it covers. Measured reading 300,000 events spread over 1,000 types, filtered by N of them
 * (branches / walk): N=16 84 / 61 ms, 32 182 / 170 ms, 64 765 / 369 ms, 128 4.7 s / 179 ms,
 * 499 41 s / 315 ms; but when those 32 types match only 60 events, 3 ms / 68 ms. SQLite also
 * caps a compound SELECT at 500 terms.
 */
const maxIndexBranches = 32;

/**
 * readAll with filters, in SQL with bound parameters only. Each filter has a
 * (filter, position) index, so a page of ONE type or category is a range scan from the
 * checkpoint however sparse the matches are. `type IN (a, b)` would instead make SQLite
 * gather every later match of both and sort them for each page; so a few values become a
 * UNION ALL of per-value range scans, each stopping after `limit` rows, merged by position.
 * With both filters the categories drive the index and the types filter within them.
 * Lists are bound as one JSON array each (json_each), so no count of values meets SQLite's
 * limit on bound variables.
 */
export function prepareFilteredReadAll(db: Database, typeCount: number, categoryCount: number): FilteredReadAll {
  const byCategory = categoryCount > 0;
  const branches = byCategory ? categoryCount : typeCount;
  if (branches > maxIndexBranches) return prepareScanningReadAll(db, typeCount > 0, byCategory);
  // `+type`: a filter within the category's range scan, never a reason to use the type index.
  const typeFilter = byCategory && typeCount > 0 ? ' AND +type IN (SELECT value FROM json_each(?))' : '';
  const branch = `SELECT ${eventColumns} FROM events WHERE ${byCategory ? 'category' : 'type'} = ? AND position > ?${typeFilter} ORDER BY position LIMIT ?`;
  const sql =
    branches === 1
      ? branch
      : `SELECT * FROM (${Array.from({ length: branches }, () => `SELECT * FROM (${branch})`).join(' UNION ALL ')}) ORDER BY position LIMIT ?`;
  return {
    statement: db.prepare<unknown[], EventRow>(sql).raw(),
    parameters(types, categories) {
      const typeList = typeFilter ? JSON.stringify(types) : '';
      return (after, limit) => {
        const values: unknown[] = [];
        for (const value of byCategory ? categories : types) {
          values.push(value, after);
          if (typeFilter) values.push(typeList);
          values.push(limit);
        }
        if (branches > 1) values.push(limit);
        return values;
      };
    },
  };
}

/**
 * Many values: one walk of the log in position order, keeping the rows that match. The `+`
 * keeps SQLite off the type and category indexes, which would have it collect and sort every
 * later match for each page; this way a page stops after `limit` matches, and reading the whole
 * log costs one pass over it.
 */
function prepareScanningReadAll(db: Database, byType: boolean, byCategory: boolean): FilteredReadAll {
  const categoryFilter = byCategory ? ' AND +category IN (SELECT value FROM json_each(?))' : '';
  const typeFilter = byType ? ' AND +type IN (SELECT value FROM json_each(?))' : '';
  const sql = `SELECT ${eventColumns} FROM events WHERE position > ?${categoryFilter}${typeFilter} ORDER BY position LIMIT ?`;
  return {
    statement: db.prepare<unknown[], EventRow>(sql).raw(),
    parameters(types, categories) {
      const lists = [...(byCategory ? [JSON.stringify(categories)] : []), ...(byType ? [JSON.stringify(types)] : [])];
      return (after, limit) => [after, ...lists, limit];
    },
  };
}
