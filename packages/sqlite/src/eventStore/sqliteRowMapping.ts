import type { EventMetadata, RecordedEvent } from '@tidemark/core';

/** The columns every event read selects, in the order `toRecordedEvent` expects them. */
export const eventColumns = 'position, id, stream_id, version, type, schema_version, data, metadata, recorded_at';

/** A row as better-sqlite3 returns it in `.raw()` mode: an array, no per-row key lookups. */
export type EventRow = [
  position: number,
  id: string,
  streamId: string,
  version: number,
  type: string,
  schemaVersion: number,
  data: string,
  metadata: string,
  recordedAt: number,
];

export function toRecordedEvent(row: EventRow): RecordedEvent {
  const metadataJson = row[7];
  return {
    id: row[1],
    type: row[4],
    schemaVersion: row[5],
    streamId: row[2],
    version: row[3],
    // SQLite positions are rowids, far below 2^53: read as numbers, made bigints here.
    position: BigInt(row[0]),
    recordedAt: new Date(row[8]),
    data: JSON.parse(row[6]),
    // Most events carry no metadata; skipping the parser for '{}' is a measurable share of a fold.
    metadata: metadataJson === '{}' ? {} : (JSON.parse(metadataJson) as EventMetadata),
  };
}

/**
 * The columns a fold selects: no stream id (the caller has it), so one string fewer is
 * copied out of SQLite per event. In `toFoldedEvent`'s order.
 */
export const foldColumns = 'position, id, version, type, schema_version, data, metadata, recorded_at';

export type FoldRow = [
  position: number,
  id: string,
  version: number,
  type: string,
  schemaVersion: number,
  data: string,
  metadata: string,
  recordedAt: number,
];

export function toFoldedEvent(row: FoldRow, streamId: string): RecordedEvent {
  const metadataJson = row[6];
  return {
    id: row[1],
    type: row[3],
    schemaVersion: row[4],
    streamId,
    version: row[2],
    position: BigInt(row[0]),
    recordedAt: new Date(row[7]),
    data: JSON.parse(row[5]),
    metadata: metadataJson === '{}' ? {} : (JSON.parse(metadataJson) as EventMetadata),
  };
}
