import {
  createEventPipeline,
  type EventBrowser,
  type EventBrowserOptions,
  type EventMetadata,
  encodeEventCursor,
  isEventId,
  isPromiseLike,
  loadEventChain,
  type RecordedEvent,
  type ResolvedEventQuery,
  resolveEventCountRange,
  resolveEventQuery,
  resolveStreamQuery,
  type SqlQueries,
} from '@tidemark/core';

interface EventObjectRow extends Record<string, unknown> {
  position: number;
  id: string;
  stream_id: string;
  version: number;
  type: string;
  schema_version: number;
  data: string;
  metadata: string;
  recorded_at: number;
}

interface StreamRow extends Record<string, unknown> {
  stream_id: string;
  category: string;
  event_count: number;
  last_version: number;
  last_recorded_at: number;
}

const columns = 'position, id, stream_id, version, type, schema_version, data, metadata, recorded_at';
/** The exact expressions of the browser's expression indexes: SQLite uses such an index only for the same text. */
export const sqliteCorrelationIdSql = "json_extract(metadata, '$.correlationId')";
export const sqliteCausationIdSql = "json_extract(metadata, '$.causationId')";

function toEvent(row: EventObjectRow): RecordedEvent {
  return {
    id: row.id,
    type: row.type,
    schemaVersion: row.schema_version,
    streamId: row.stream_id,
    version: row.version,
    position: BigInt(row.position),
    recordedAt: new Date(row.recorded_at),
    data: JSON.parse(row.data),
    metadata: JSON.parse(row.metadata) as EventMetadata,
  };
}

/**
 * The page query of one access path. The path's own key is the indexed term and its keyset
 * order; every other filter is residual, written with a unary `+` so that SQLite cannot
 * swap to its index and then sort a large range (without ANALYZE statistics it would guess).
 */
export function sqliteEventPageSql(query: ResolvedEventQuery): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const where: string[] = [];
  const bind = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  const term = (indexed: boolean, expression: string) => (indexed ? expression : `+${expression}`);
  const { path, after } = query;
  if (query.streamId !== undefined) where.push(`stream_id = ${bind(query.streamId)}`);
  if (query.correlationId !== undefined)
    where.push(`${term(path === 'correlation', sqliteCorrelationIdSql)} = ${bind(query.correlationId)}`);
  if (query.causationId !== undefined) where.push(`${term(path === 'causation', sqliteCausationIdSql)} = ${bind(query.causationId)}`);
  if (query.from !== undefined) where.push(`${term(path === 'time', 'recorded_at')} >= ${bind(query.from)}`);
  if (query.to !== undefined) where.push(`${term(path === 'time', 'recorded_at')} < ${bind(query.to)}`);
  // type and category have (x, position) indexes: on the position path SQLite may take either.
  if (query.type !== undefined) where.push(`${term(path === 'position', 'type')} = ${bind(query.type)}`);
  if (query.category !== undefined) where.push(`${term(path === 'position', 'category')} = ${bind(query.category)}`);
  let order = 'position DESC';
  if (path === 'stream') {
    order = 'version DESC';
    if (after) where.push(`version < ${bind(after.version)}`);
  } else if (path === 'time') {
    order = 'recorded_at DESC, position DESC';
    if (after) where.push(`(recorded_at, position) < (${bind(after.recordedAt)}, ${bind(after.position)})`);
  } else if (after) {
    where.push(`position < ${bind(after.position)}`);
  }
  const sql = `SELECT ${columns} FROM events${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${order} LIMIT ${bind(query.limit + 1)}`;
  return { sql, params };
}

/**
 * The event browser on a SQLite event store's read connection (`store.queries`): committed
 * events only, never waiting for the writer. Each page is one index range scan: the log by
 * its rowid, a stream by (stream_id, version), a conversation by the correlation or causation
 * expression index, a window by (recorded_at, position); see sqliteEventPageSql.
 */
export function createSqliteEventBrowser(store: { readonly queries: SqlQueries }, options: EventBrowserOptions = {}): EventBrowser {
  const { queries } = store;
  const pipeline = createEventPipeline(options.stages);
  const browser: EventBrowser = {
    async listEvents(query) {
      const resolved = resolveEventQuery(query);
      const { sql, params } = sqliteEventPageSql(resolved);
      const rows = await queries.query<EventObjectRow>(sql, params);
      const stored = rows.slice(0, resolved.limit).map(toEvent);
      // The cursor is the last stored row's: a split event's parts share its position.
      const last = stored[stored.length - 1];
      const read = pipeline.readBackwards(stored);
      const events = isPromiseLike(read) ? await read : read;
      return rows.length > resolved.limit && last ? { events, next: encodeEventCursor(last) } : { events };
    },
    async getEvent(eventId) {
      if (!isEventId(eventId)) return undefined;
      const [row] = await queries.query<EventObjectRow>(`SELECT ${columns} FROM events WHERE id = $1`, [eventId.toLowerCase()]);
      if (!row) return undefined;
      const read = pipeline.read([toEvent(row)]);
      return (isPromiseLike(read) ? await read : read)[0];
    },
    getChain: (eventId, options) => loadEventChain(browser, eventId, options),
    async listStreams(query) {
      const resolved = resolveStreamQuery(query);
      const params: unknown[] = [resolved.after ?? '', resolved.limit + 1];
      // Binary collation: every stream of category c sorts in [c, c || '.') ('-' < '.'), so the
      // range bounds the index scan and the category test drops the few strangers inside it.
      const category = resolved.category === undefined ? '' : `AND stream_id >= $3 AND stream_id < $3 || '.' AND +category = $3`;
      if (resolved.category !== undefined) params.push(resolved.category);
      const rows = await queries.query<StreamRow>(
        `SELECT stream_id, category, count(*) AS event_count, max(version) AS last_version,
                (SELECT recorded_at FROM events l WHERE l.stream_id = e.stream_id ORDER BY version DESC LIMIT 1) AS last_recorded_at
           FROM events e WHERE stream_id > $1 ${category}
          GROUP BY stream_id ORDER BY stream_id LIMIT $2`,
        params,
      );
      const streams = rows.slice(0, resolved.limit).map((row) => ({
        streamId: row.stream_id,
        category: row.category,
        eventCount: row.event_count,
        lastVersion: row.last_version,
        lastRecordedAt: new Date(row.last_recorded_at),
      }));
      const last = streams[streams.length - 1];
      return rows.length > resolved.limit && last ? { streams, next: last.streamId } : { streams };
    },
    async countEvents(range) {
      const { after, upTo, limit } = resolveEventCountRange(range);
      if (upTo <= after) return 0;
      // A range seek on the rowid (position is the INTEGER PRIMARY KEY), stopped after `limit`
      // rows by the inner LIMIT: SQLite steps over the rows without reading a column of them.
      const [row] = await queries.query<{ n: number }>(
        'SELECT count(*) AS n FROM (SELECT 1 FROM events WHERE position > $1 AND position <= $2 LIMIT $3)',
        [after, upTo, limit],
      );
      return row?.n ?? 0;
    },
  };
  return browser;
}
