import { type EventQuery, type StreamQuery, ValidationError } from '@tidemark/core';

type Params = Record<string, unknown>;

/** A query-string value: absent or empty means not given; repeated means malformed. */
function text(params: Params, key: string): string | undefined {
  const value = params[key];
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw new ValidationError(`${key} must be given once`, { field: key });
  return value;
}

function whole(params: Params, key: string): number | undefined {
  const value = text(params, key);
  if (value === undefined) return undefined;
  if (!/^\d{1,9}$/.test(value)) throw new ValidationError(`${key} must be a whole number`, { field: key });
  return Number(value);
}

const isoTime = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?(?:Z|[+-](\d{2}):(\d{2}))?)?$/;

/** Whether the fields name a real moment: Date.parse rolls 2026-02-30 over to March 2 and T24:00 to the next day. */
function onTheCalendar(fields: RegExpExecArray): boolean {
  const [year, month, day, hour = 0, minute = 0, second = 0, offsetHours = 0, offsetMinutes = 0] = fields
    .slice(1)
    .map((field) => (field === undefined ? undefined : Number(field)));
  const leap = year! % 4 === 0 && (year! % 100 !== 0 || year! % 400 === 0);
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month! - 1];
  return (
    days !== undefined &&
    day! >= 1 &&
    day! <= days &&
    hour <= 23 &&
    minute <= 59 &&
    second <= 59 &&
    offsetHours <= 23 &&
    offsetMinutes <= 59
  );
}

function instant(params: Params, key: string): Date | undefined {
  const value = text(params, key);
  if (value === undefined) return undefined;
  // ISO 8601 as a datetime-local input or toISOString writes it; Date.parse alone accepts too much.
  const fields = isoTime.exec(value);
  const parsed = fields && onTheCalendar(fields) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(parsed)) throw new ValidationError(`${key} must be an ISO 8601 time (2026-11-30T12:00:00Z)`, { field: key });
  return new Date(parsed);
}

/** `?type=&category=&stream=&from=&to=&correlationId=&causationId=&limit=&cursor=` as an EventQuery. */
export function eventQueryFrom(params: Params): EventQuery {
  const query: EventQuery = {};
  const set = <K extends keyof EventQuery>(key: K, value: EventQuery[K] | undefined) => {
    if (value !== undefined) query[key] = value;
  };
  set('type', text(params, 'type'));
  set('category', text(params, 'category'));
  set('streamId', text(params, 'stream'));
  set('from', instant(params, 'from'));
  set('to', instant(params, 'to'));
  set('correlationId', text(params, 'correlationId'));
  set('causationId', text(params, 'causationId'));
  set('limit', whole(params, 'limit'));
  set('cursor', text(params, 'cursor'));
  return query;
}

export function streamQueryFrom(params: Params): StreamQuery {
  const query: StreamQuery = {};
  const category = text(params, 'category');
  const limit = whole(params, 'limit');
  const cursor = text(params, 'cursor');
  if (category !== undefined) query.category = category;
  if (limit !== undefined) query.limit = limit;
  if (cursor !== undefined) query.cursor = cursor;
  return query;
}

/** `?version=N` or `?asOf=TIME` of the stream-state page (at most one). */
export function asOfFrom(params: Params): { upToVersion?: number; asOf?: Date } {
  const version = whole(params, 'version');
  const asOf = instant(params, 'asOf');
  if (version !== undefined && asOf !== undefined) throw new ValidationError('Give version or asOf, not both', { field: 'asOf' });
  if (version !== undefined) {
    if (version < 1) throw new ValidationError('version must be ≥ 1', { field: 'version' });
    return { upToVersion: version };
  }
  return asOf === undefined ? {} : { asOf };
}

/** A path segment that must be a global position (decimal, a bigint once parsed). */
export function positionParam(value: string): bigint {
  if (!/^\d{1,19}$/.test(value)) throw new ValidationError('position must be a whole number', { field: 'position' });
  return BigInt(value);
}
