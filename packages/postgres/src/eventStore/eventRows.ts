import type { RecordedEvent } from '@tidemark/core';
import pg from 'pg';

/** The columns every event read selects, in the order {@link toRecordedEvent} expects. */
export const eventColumns = 'position, id, stream_id, version, type, schema_version, recorded_at, data, metadata';

const int8Oid = 20;

/**
 * Per-query type parsers: bigints (positions, versions) become numbers — positions stay below
 * 2^53 (see the events table) — and everything else keeps pg's parsers (json → JSON.parse,
 * timestamptz → Date). Per query rather than global, so a caller's own pool is not altered.
 */
export const eventTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === int8Oid) return Number;
    return pg.types.getTypeParser(oid, format);
  },
} as unknown as pg.CustomTypesConfig;

/** Rows arrive as arrays (rowMode 'array'): no per-row object keyed by column name to build. */
export function toRecordedEvent(row: unknown[]): RecordedEvent {
  return {
    id: row[1] as string,
    type: row[4] as string,
    schemaVersion: row[5] as number,
    streamId: row[2] as string,
    version: row[3] as number,
    position: row[0] as number,
    recordedAt: row[6] as Date,
    data: row[7],
    metadata: row[8] as RecordedEvent['metadata'],
  };
}
