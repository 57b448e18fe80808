import {
  type AppendResult,
  assertExpectedVersion,
  assertRetryPayload,
  type Clock,
  ConcurrencyError,
  DuplicateEventIdError,
  detectRetry,
  type EventMetadata,
  type PreparedAppend,
  type StoredEventPayload,
  type StoredEventRef,
  StreamDeletedError,
  writtenAppendResult,
} from '@tidemark/core';
import type { SqliteStatements } from './sqliteStatements.js';

/**
 * Writes one prepared append on a connection that already holds the write lock (inside
 * BEGIN IMMEDIATE or a savepoint of it), so the version read and the inserts cannot be
 * interleaved with another writer. Synchronous: the hot path calls it inside one
 * better-sqlite3 transaction.
 */
export type SqliteAppendWriter = (prepared: PreparedAppend) => AppendResult;

export function createSqliteAppendWriter(
  statements: SqliteStatements,
  clock: Clock,
  defaultMetadata: EventMetadata | undefined,
): SqliteAppendWriter {
  const { eventById, appendHead, insertEvent } = statements;
  return (prepared) => {
    const { streamId, events } = prepared;
    // Only caller-chosen ids can already exist; generated ones are fresh UUIDv7s.
    if (prepared.anyIdSupplied) {
      const stored = new Map<string, StoredEventRef & StoredEventPayload>();
      for (const event of events) {
        if (!event.idSupplied) continue;
        const row = eventById.get(event.id);
        if (row) {
          const [refStream, version, position, type, schemaVersion, dataJson, metadataJson] = row;
          stored.set(event.id, { streamId: refStream, version, position: BigInt(position), type, schemaVersion, dataJson, metadataJson });
        }
      }
      const retry = detectRetry(prepared, stored);
      if (retry) {
        assertRetryPayload(prepared, stored, defaultMetadata);
        return { streamId, ...retry, written: false, events: [] };
      }
    }
    const [version, deleted] = appendHead.get(streamId, streamId) ?? [null, null];
    const current = version ?? 0;
    assertExpectedVersion(streamId, prepared.expectedVersion, current);
    if (deleted === 1) throw new StreamDeletedError(streamId);
    const recordedAt = clock.now().getTime();
    let position = 0;
    let i = 0;
    try {
      for (; i < events.length; i++) {
        const event = events[i]!;
        position = insertEvent.run(
          event.id,
          streamId,
          current + i + 1,
          event.type,
          event.schemaVersion,
          event.dataJson,
          event.metadataJson,
          recordedAt,
        ).lastInsertRowid as number;
      }
    } catch (error) {
      throw translateConstraintError(error, prepared, current, events[i]?.id ?? '');
    }
    // One writer holds the lock, so the rowids of this append are consecutive.
    return writtenAppendResult(prepared, current + 1, BigInt(position - events.length + 1), recordedAt);
  };
}

/**
 * Under the write lock the version check above cannot race, but the unique indexes are the
 * backstop against anything that writes the file without it: report them as the typed
 * errors the check would have raised.
 */
function translateConstraintError(error: unknown, prepared: PreparedAppend, current: number, eventId: string): unknown {
  if (!(error instanceof Error) || (error as { code?: unknown }).code !== 'SQLITE_CONSTRAINT_UNIQUE') return error;
  if (error.message.includes('events.stream_id')) {
    return new ConcurrencyError(prepared.streamId, prepared.expectedVersion, current);
  }
  if (error.message.includes('events.id')) return new DuplicateEventIdError(prepared.streamId, eventId);
  return error;
}
