import type { RecordedEvent } from '@tidemark/core';
import { escapeControls } from './escapeControls.js';

/** One event on one line for people: position, time, stream@version, type, data as JSON (escaped: escapeControls). */
export function eventLine(event: RecordedEvent): string {
  return `${escapeControls(
    `${event.position}  ${event.recordedAt.toISOString()}  ${event.streamId}@${event.version}  ${event.type}${
      event.schemaVersion > 1 ? `.v${event.schemaVersion}` : ''
    }  ${JSON.stringify(event.data)}`,
  )}\n`;
}
