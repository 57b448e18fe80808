import type { CheckpointRecord } from './checkpointStore.js';

/**
 * A row of the adapters' `tidemark_checkpoints` table as either driver returns it: BIGINT as a
 * decimal string (pg) or a number (better-sqlite3), timestamps as ISO-8601 text.
 */
export interface CheckpointRow {
  position: string | number | bigint;
  updated_at: unknown;
  failed_position: string | number | bigint | null;
  failed_event_id: unknown;
  failed_event_type: unknown;
  failed_stream_id: unknown;
  error: unknown;
  attempts: unknown;
  failed_at: unknown;
}

/** One mapping of a checkpoint row for both SQL adapters (their tables have the same columns). */
export function checkpointRecordFromRow(name: string, row: CheckpointRow): CheckpointRecord {
  const record: CheckpointRecord = { name, position: BigInt(row.position), updatedAt: new Date(String(row.updated_at)) };
  if (row.failed_position !== null) {
    record.failure = {
      position: BigInt(row.failed_position),
      eventId: String(row.failed_event_id),
      eventType: String(row.failed_event_type),
      streamId: String(row.failed_stream_id),
      message: String(row.error),
      attempts: Number(row.attempts),
      failedAt: new Date(String(row.failed_at)),
    };
  }
  return record;
}
