import type { EventMetadata, RecordedEvent } from '@tidemark/core';
import pg from 'pg';

const int8Oid = 20;

/**
 * A text column as a JSON string literal. Cheaper than to_json (measured ~25% of a fold): names
 * written through the store never hold control characters (assertValidName refuses them), so
 * only the backslash and the double quote need escaping.
 */
function jsonString(column: string): string {
  // E'' strings: the same bytes whatever standard_conforming_strings says.
  return `'"' || replace(replace(${column}, E'\\\\', E'\\\\\\\\'), '"', E'\\\\"') || '"'`;
}

/**
 * Each event comes back as ONE text column holding a JSON array, built by the server:
 * [position, id, version, type, schema_version, recorded_at (epoch ms), data, metadata(, stream_id)],
 * the position as a decimal string: it passes 2^53, where a JSON number loses digits.
 * One native JSON.parse per row then replaces pg's per-field JavaScript parsing — nine fields
 * per row, timestamptz through a regular expression — which measured as the bulk of a fold's
 * time. data and metadata are stored as json text, so they are spliced in as they are.
 * date_part returns float8 directly; extract() computes in numeric, measurably slower.
 */
function packedEvent(withStreamId: boolean): string {
  return `'["' || position || '","' || id || '",' || version || ',' || ${jsonString('type')} || ',' || schema_version || ','
    || date_part('epoch', recorded_at) * 1000 || ',' || data::text || ',' || metadata::text${withStreamId ? ` || ',' || ${jsonString('stream_id')}` : ''} || ']'`;
}

/** Select list of a read over many streams (readAll). */
export const packedEventWithStream = packedEvent(true);
/** Select list of a per-stream read: the stream id is known, so it is not sent back per row. */
export const packedStreamEvent = packedEvent(false);

/**
 * Bigints as numbers — for versions; a position is selected as text and made a bigint — and pg's
 * usual parsers for the rest. Per query rather than global, so a caller's pool is not altered.
 */
export const numericBigints = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    return oid === int8Oid ? Number : pg.types.getTypeParser(oid, format);
  },
} as unknown as pg.CustomTypesConfig;

/** For event reads: bigints as numbers (positions come as text), the packed text column as it is. */
export const eventTypes = {
  getTypeParser(oid: number) {
    return oid === int8Oid ? Number : (value: string) => value;
  },
} as unknown as pg.CustomTypesConfig;

type PackedEvent = [string, string, number, string, number, number, unknown, EventMetadata, string?];

/** Rows arrive as arrays (rowMode 'array') of one packed column. */
export function toRecordedEvent(row: unknown[], streamId?: string): RecordedEvent {
  return parsePackedEvent(row[0] as string, streamId);
}

/** One packed column's text as the event. */
export function parsePackedEvent(packed: string, streamId?: string): RecordedEvent {
  const [position, id, version, type, schemaVersion, recordedAt, data, metadata, storedStreamId] = JSON.parse(packed) as PackedEvent;
  return {
    id,
    type,
    schemaVersion,
    streamId: streamId ?? (storedStreamId as string),
    version,
    position: BigInt(position),
    // Epoch seconds times 1000 in float8 can land a hair below the stored millisecond.
    recordedAt: new Date(Math.round(recordedAt)),
    data,
    metadata,
  };
}
