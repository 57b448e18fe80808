import type { RecordedEvent } from '../domain/event.js';

/**
 * A parked event as JSON text for a dead-letter row. JSON has no bigint, so the position goes
 * as a decimal string; JSON escapes NUL and lone surrogates, so the text is always storable.
 */
export function deadLetterEventJson(event: RecordedEvent): string {
  return JSON.stringify({ ...event, position: String(event.position) });
}

/** The inverse of {@link deadLetterEventJson}; rows parked before positions were bigints hold a number. */
export function parseDeadLetterEvent(text: string): RecordedEvent {
  const event = JSON.parse(text) as Omit<RecordedEvent, 'position' | 'recordedAt'> & { position: string | number; recordedAt: string };
  return { ...event, position: BigInt(event.position), recordedAt: new Date(event.recordedAt) };
}
