import { ValidationError } from '../domain/errors.js';
import type { RecordedEvent } from '../domain/event.js';
import { assertStorablePosition } from '../eventStore/position.js';
import { assertStorableName } from '../eventStore/prepareAppend.js';
import type { EventCountRange, EventQuery, StreamQuery } from './eventBrowser.js';

/**
 * Which index serves a page, in order of preference: a stream's own events (its version index),
 * one conversation (the correlation or causation index), a time window (the recorded_at index),
 * else the log by position (through the type or category index when filtered). Each path has
 * its own keyset order, so a page is always one index range read from where the last one ended.
 */
export type EventQueryPath = 'stream' | 'correlation' | 'causation' | 'time' | 'position';

/** The last row of a page: every key any path seeks from. */
export interface EventCursor {
  position: bigint;
  version: number;
  recordedAt: number;
}

export interface ResolvedEventQuery {
  type?: string;
  category?: string;
  streamId?: string;
  /** Epoch milliseconds, inclusive. */
  from?: number;
  /** Epoch milliseconds, exclusive. */
  to?: number;
  correlationId?: string;
  causationId?: string;
  limit: number;
  after?: EventCursor;
  path: EventQueryPath;
}

export const maxPageSize = 1000;
const defaultPageSize = 50;

function pageSize(value: unknown): number {
  if (value === undefined) return defaultPageSize;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > maxPageSize) {
    throw new ValidationError(`limit must be a whole number from 1 to ${maxPageSize}`, { field: 'limit' });
  }
  return value;
}

// Filters look up what is stored, so they take any storable name (assertStorableName), not only
// what an append may write now: a correlation id is metadata, free to hold a bidirectional control,
// and the browser must still find a stream stored before those were refused.
function name(value: unknown, what: string): string | undefined {
  if (value === undefined) return undefined;
  assertStorableName(value, what);
  return value;
}

function instant(value: unknown, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw new ValidationError(`${what} must be a valid Date`, { field: what });
  return value.getTime();
}

/** `position.version.recordedAt`: opaque to callers, checked strictly here. */
export function encodeEventCursor(event: RecordedEvent): string {
  return `${event.position}.${event.version}.${event.recordedAt.getTime()}`;
}

export function decodeEventCursor(cursor: unknown): EventCursor | undefined {
  if (cursor === undefined) return undefined;
  const match = typeof cursor === 'string' ? /^(\d{1,19})\.(\d{1,15})\.(-?\d{1,16})$/.exec(cursor) : null;
  if (!match) throw new ValidationError('cursor is not one this store handed out', { field: 'cursor' });
  return { position: BigInt(match[1] as string), version: Number(match[2]), recordedAt: Number(match[3]) };
}

/** Validates an EventQuery (a ValidationError names the bad field) and picks its access path. */
export function resolveEventQuery(query: EventQuery = {}): ResolvedEventQuery {
  const resolved: ResolvedEventQuery = { limit: pageSize(query.limit), path: 'position' };
  const type = name(query.type, 'type');
  const category = name(query.category, 'category');
  const streamId = name(query.streamId, 'streamId');
  const correlationId = name(query.correlationId, 'correlationId');
  const causationId = name(query.causationId, 'causationId');
  const from = instant(query.from, 'from');
  const to = instant(query.to, 'to');
  const after = decodeEventCursor(query.cursor);
  if (type !== undefined) resolved.type = type;
  if (category !== undefined) resolved.category = category;
  if (streamId !== undefined) resolved.streamId = streamId;
  if (correlationId !== undefined) resolved.correlationId = correlationId;
  if (causationId !== undefined) resolved.causationId = causationId;
  if (from !== undefined) resolved.from = from;
  if (to !== undefined) resolved.to = to;
  if (after !== undefined) resolved.after = after;
  resolved.path =
    streamId !== undefined
      ? 'stream'
      : correlationId !== undefined
        ? 'correlation'
        : causationId !== undefined
          ? 'causation'
          : from !== undefined || to !== undefined
            ? 'time'
            : 'position';
  return resolved;
}

/**
 * Whether `event` comes after the cursor in the path's newest-first order: the in-memory
 * browser's version of the adapters' keyset predicates.
 */
export function isPastCursor(event: RecordedEvent, path: EventQueryPath, after: EventCursor): boolean {
  if (path === 'stream') return event.version < after.version;
  if (path === 'time') {
    const at = event.recordedAt.getTime();
    return at < after.recordedAt || (at === after.recordedAt && event.position < after.position);
  }
  return event.position < after.position;
}

/** Validates a countEvents range alike on every adapter (a ValidationError names the bad field). */
export function resolveEventCountRange(range: EventCountRange): EventCountRange {
  if (range === null || typeof range !== 'object') throw new ValidationError('countEvents needs { after, upTo, limit }');
  const { after, upTo, limit } = range;
  assertStorablePosition(after, 'after');
  assertStorablePosition(upTo, 'upTo');
  if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 1) {
    throw new ValidationError('limit must be a whole number ≥ 1', { field: 'limit' });
  }
  return { after, upTo, limit };
}

export interface ResolvedStreamQuery {
  category?: string;
  limit: number;
  /** The last stream id of the page before. */
  after?: string;
}

export function resolveStreamQuery(query: StreamQuery = {}): ResolvedStreamQuery {
  const resolved: ResolvedStreamQuery = { limit: pageSize(query.limit) };
  const category = name(query.category, 'category');
  if (category !== undefined) resolved.category = category;
  if (query.cursor !== undefined) {
    // The cursor of a stream page is the last stream id shown: any storable name.
    assertStorableName(query.cursor, 'cursor');
    resolved.after = query.cursor;
  }
  return resolved;
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Event ids are UUIDs: anything else names no event (and must not reach a uuid column). */
export function isEventId(value: unknown): value is string {
  return typeof value === 'string' && uuidPattern.test(value);
}

/** Whether `value` passes the names check that filters apply (assertStorableName). */
export function isValidName(value: string): boolean {
  try {
    assertStorableName(value, 'name');
    return true;
  } catch {
    return false;
  }
}
