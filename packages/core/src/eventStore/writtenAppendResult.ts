import type { RecordedEvent } from '../domain/event.js';
import type { AppendResult } from './eventStore.js';
import type { PreparedAppend } from './prepareAppend.js';

/**
 * The result of an append that wrote `prepared` at consecutive versions and positions.
 * `events` is built when first read: parsing the stored JSON back into fresh objects costs as
 * much as a single-event insert, and most callers only want the version and position.
 */
export function writtenAppendResult(
  prepared: PreparedAppend,
  firstVersion: number,
  firstPosition: bigint,
  recordedAt: number,
): AppendResult {
  const { streamId, events } = prepared;
  let recorded: RecordedEvent[] | undefined;
  return {
    streamId,
    nextExpectedVersion: firstVersion + events.length - 1,
    position: firstPosition + BigInt(events.length - 1),
    written: true,
    get events(): RecordedEvent[] {
      recorded ??= events.map((event, index) => ({
        id: event.id,
        type: event.type,
        schemaVersion: event.schemaVersion,
        streamId,
        version: firstVersion + index,
        position: firstPosition + BigInt(index),
        recordedAt: new Date(recordedAt),
        // Fresh copies, as a read returns them: the caller's objects are never shared.
        data: JSON.parse(event.dataJson),
        metadata: JSON.parse(event.metadataJson),
      }));
      return recorded;
    },
    set events(value: RecordedEvent[]) {
      recorded = value;
    },
  };
}
