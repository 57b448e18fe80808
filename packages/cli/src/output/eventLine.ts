import { type RecordedEvent, stringifyWithPositions } from '@tidemark/core';

/** One event on one line for people: position, time, stream@version, type, data as JSON. */
export function eventLine(event: RecordedEvent): string {
  return `${event.position}  ${event.recordedAt.toISOString()}  ${event.streamId}@${event.version}  ${event.type}${
    event.schemaVersion > 1 ? `.v${event.schemaVersion}` : ''
  }  ${JSON.stringify(event.data)}\n`;
}

/** One event as a JSON line (positions as decimal strings). */
export function eventJsonLine(event: RecordedEvent): string {
  return `${stringifyWithPositions(event)}\n`;
}
