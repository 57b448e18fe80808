import {
  createEventPipeline,
  type EventBrowser,
  type EventBrowserOptions,
  encodeEventCursor,
  isEventId,
  isPromiseLike,
  loadEventChain,
  maxStorablePosition,
  type ResolvedEventQuery,
  resolveEventCountRange,
  resolveEventQuery,
  resolveStreamQuery,
} from '@tidemark/core';
import type pg from 'pg';
import { rethrowTyped } from '../eventStore/connectionErrors.js';
import { eventTypes, packedEventWithStream, toRecordedEvent } from '../eventStore/eventRows.js';
import { timeoutNamingPool } from '../eventStore/timeoutNamingPool.js';
import { quoteIdentifier } from '../schema/schemaName.js';
import { postgresCausationIdSql, postgresCorrelationIdSql } from './postgresEventBrowserIndexes.js';

interface StreamRow {
  stream_id: string;
  category: string;
  event_count: number;
  last_version: number;
  last_recorded_at: Date;
}

/** The index a page on the position path or a conversation path is read from: its first column and value. */
function drivingKey(query: ResolvedEventQuery): { column: string; value: string } | undefined {
  if (query.path === 'correlation') return { column: postgresCorrelationIdSql, value: query.correlationId as string };
  if (query.path === 'causation') return { column: postgresCausationIdSql, value: query.causationId as string };
  if (query.path !== 'position') return undefined;
  if (query.type !== undefined) return { column: 'type', value: query.type };
  if (query.category !== undefined) return { column: 'category', value: query.category };
  return undefined;
}

/**
 * The page query of one access path: the path's key and the keyset bound are the index
 * conditions of one index, a backward range scan from the cursor that stops after `limit + 1`
 * rows; every other filter applies to the rows it yields. Sent unnamed, so each page is planned
 * with its values rather than a generic plan.
 *
 * On an (x, position) index the key is written as two ROW bounds, `($x, 0) <= (x, position) <
 * ($x, $cursor)`, and never as `x = $x` (measured on 100,000 events, a page 50,000 deep): with
 * the equality the planner either walks the primary key backwards filtering on x (it reads the
 * whole log above the cursor: 27 ms), or keeps the equality as the scan's start key and walks
 * every entry of x above the cursor (16 ms); with the bounds alone the scan starts at the cursor
 * (0.1 ms), as readAll's statement does (readAllStatement.ts). The conversation indexes are
 * partial, so their pages also say `x IS NOT NULL`, which lets the planner use them.
 */
export function postgresEventPageSql(schema: string, query: ResolvedEventQuery): { text: string; values: unknown[] } {
  const values: unknown[] = [];
  const where: string[] = [];
  const bind = (value: unknown, cast: string) => {
    values.push(value);
    return `$${values.length}::${cast}`;
  };
  const { path, after } = query;
  const before = after?.position ?? maxStorablePosition;
  const driving = drivingKey(query);
  const filter = (column: string, value: string | undefined) => {
    if (value !== undefined && column !== driving?.column) where.push(`${column} = ${bind(value, 'text')}`);
  };
  filter('stream_id', query.streamId);
  filter(postgresCorrelationIdSql, query.correlationId);
  filter(postgresCausationIdSql, query.causationId);
  filter('type', query.type);
  filter('category', query.category);
  if (query.from !== undefined) where.push(`recorded_at >= ${bind(new Date(query.from), 'timestamptz')}`);
  if (query.to !== undefined) where.push(`recorded_at < ${bind(new Date(query.to), 'timestamptz')}`);
  let order = 'position DESC';
  if (driving) {
    const key = bind(driving.value, 'text');
    where.push(`(${driving.column}, position) < (${key}, ${bind(before, 'bigint')})`, `(${driving.column}, position) >= (${key}, 0)`);
    if (path !== 'position') where.push(`${driving.column} IS NOT NULL`);
    order = `${driving.column} DESC, position DESC`;
  } else if (path === 'stream') {
    order = 'version DESC';
    if (after) where.push(`version < ${bind(after.version, 'bigint')}`);
  } else if (path === 'time') {
    order = 'recorded_at DESC, position DESC';
    if (after) where.push(`(recorded_at, position) < (${bind(new Date(after.recordedAt), 'timestamptz')}, ${bind(before, 'bigint')})`);
  } else if (after) {
    where.push(`position < ${bind(before, 'bigint')}`);
  }
  const text = `SELECT ${packedEventWithStream} FROM ${quoteIdentifier(schema)}.events
    WHERE ${where.length > 0 ? where.join(' AND ') : 'true'} ORDER BY ${order} LIMIT ${bind(query.limit + 1, 'integer')}`;
  return { text, values };
}

/**
 * The event browser on a PostgreSQL event store's pool: committed events, one index range scan
 * per page (see postgresEventPageSql), whatever the log's length.
 */
export function createPostgresEventBrowser(
  store: { readonly pool: pg.Pool; readonly schema: string },
  options: EventBrowserOptions = {},
): EventBrowser {
  const { schema } = store;
  // A statement_timeout named with its value (timeoutNamingPool.ts).
  const pool = timeoutNamingPool(store.pool);
  const pipeline = createEventPipeline(options.stages);
  const events = `${quoteIdentifier(schema)}.events`;
  const browser: EventBrowser = {
    async listEvents(query) {
      const resolved = resolveEventQuery(query);
      const { text, values } = postgresEventPageSql(schema, resolved);
      const result = await pool.query({ text, values, rowMode: 'array', types: eventTypes }).catch(rethrowTyped);
      const stored = result.rows.slice(0, resolved.limit).map((row: unknown[]) => toRecordedEvent(row));
      // The cursor is the last stored row's: a split event's parts share its position.
      const last = stored[stored.length - 1];
      const read = pipeline.readBackwards(stored);
      const page = isPromiseLike(read) ? await read : read;
      return result.rows.length > resolved.limit && last ? { events: page, next: encodeEventCursor(last) } : { events: page };
    },
    async getEvent(eventId) {
      if (!isEventId(eventId)) return undefined;
      const result = await pool
        .query({
          text: `SELECT ${packedEventWithStream} FROM ${events} WHERE id = $1::uuid`,
          values: [eventId],
          rowMode: 'array',
          types: eventTypes,
        })
        .catch(rethrowTyped);
      const row = result.rows[0] as unknown[] | undefined;
      if (!row) return undefined;
      const read = pipeline.read([toRecordedEvent(row)]);
      return (isPromiseLike(read) ? await read : read)[0];
    },
    getChain: (eventId, options) => loadEventChain(browser, eventId, options),
    async listStreams(query) {
      const resolved = resolveStreamQuery(query);
      const values: unknown[] = [resolved.after ?? '', resolved.limit + 1];
      if (resolved.category !== undefined) values.push(resolved.category);
      // Grouped along the (stream_id, version) index from the cursor on, so the scan stops after
      // the page's streams; the last event's time is one index probe per stream.
      const result = await pool
        .query<StreamRow>({
          text: `SELECT stream_id, min(category) AS category, count(*)::int AS event_count, max(version)::int AS last_version,
                      (SELECT recorded_at FROM ${events} l WHERE l.stream_id = e.stream_id ORDER BY version DESC LIMIT 1) AS last_recorded_at
                 FROM ${events} e WHERE stream_id > $1 ${resolved.category === undefined ? '' : 'AND category = $3'}
                GROUP BY stream_id ORDER BY stream_id LIMIT $2`,
          values,
        })
        .catch(rethrowTyped);
      const streams = result.rows.slice(0, resolved.limit).map((row) => ({
        streamId: row.stream_id,
        category: row.category,
        eventCount: row.event_count,
        lastVersion: row.last_version,
        lastRecordedAt: row.last_recorded_at,
      }));
      const last = streams[streams.length - 1];
      return result.rows.length > resolved.limit && last ? { streams, next: last.streamId } : { streams };
    },
    async countEvents(range) {
      const { after, upTo, limit } = resolveEventCountRange(range);
      if (upTo <= after) return 0;
      // A range of the primary key's index, stopped after `limit` entries by the inner LIMIT.
      // Recent heap pages are still visited for MVCC visibility (index-only once vacuum marked
      // them all-visible), but no column is selected: nothing is detoasted, sent or decoded.
      // Positions pass 2^53: they go as text, cast to bigint in SQL.
      const result = await pool
        .query<{ n: string }>({
          text: `SELECT count(*) AS n FROM (SELECT 1 FROM ${events} WHERE position > $1::bigint AND position <= $2::bigint LIMIT $3::bigint) AS counted`,
          values: [String(after), String(upTo), String(limit)],
        })
        .catch(rethrowTyped);
      return Number(result.rows[0]?.n ?? 0);
    },
  };
  return browser;
}
