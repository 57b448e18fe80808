import { isDeepStrictEqual } from 'node:util';
import { DuplicateEventIdError, IdempotencyConflictError } from '../domain/errors.js';
import type { EventMetadata } from '../domain/event.js';
import type { PreparedAppend, PreparedEvent } from './prepareAppend.js';

/** Where an already-stored event id lives. */
export interface StoredEventRef {
  streamId: string;
  version: number;
  position: bigint;
}

/** What an already-stored event holds, as stored: the JSON text exactly as it was written. */
export interface StoredEventPayload {
  type: string;
  schemaVersion: number;
  dataJson: string;
  metadataJson: string;
}

/**
 * Decides what an append with caller-supplied ids is, given which of its ids are stored:
 * - none stored → a new append (undefined);
 * - all stored, in this stream, at consecutive versions in batch order → a retry of that
 *   append (or of a consecutive part of it): the caller gets the version and position of the
 *   batch's last event as stored, and nothing is written. The payloads must match too: see
 *   {@link assertRetryPayload}, which the adapter calls next;
 * - anything else → DuplicateEventIdError, nothing written.
 */
export function detectRetry(
  append: PreparedAppend,
  stored: ReadonlyMap<string, StoredEventRef>,
): { nextExpectedVersion: number; position: bigint } | undefined {
  if (stored.size === 0) return undefined;
  const { streamId, events } = append;
  let previous: StoredEventRef | undefined;
  for (const event of events) {
    const ref = stored.get(event.id);
    const consecutive = ref !== undefined && ref.streamId === streamId && (previous === undefined || ref.version === previous.version + 1);
    if (!consecutive) {
      const firstStored = events.find((e) => stored.has(e.id)) ?? event;
      throw new DuplicateEventIdError(streamId, firstStored.id);
    }
    previous = ref;
  }
  return previous && { nextExpectedVersion: previous.version, position: previous.position };
}

/**
 * A retry is a retry only when it repeats the stored events: same type, schema version, data
 * and metadata. Otherwise it is a different write under old ids, and IdempotencyConflictError
 * (naming the first differing event and field) refuses it with nothing written.
 *
 * Data is compared as JSON text, exactly as stored: every store keeps the text it was given,
 * and a retry serialises the same value the same way (same key order).
 *
 * Metadata is compared as JSON values, leaving out `traceparent` (each attempt runs in its own
 * trace, and the store stamps it) and what the store's own `defaultMetadata` put there: a key whose new value is the store's default describes the writing process (service,
 * version), not the event, and may change between the crash and the retry (a deploy). Any key
 * the caller sets itself (correlationId, causationId, userId…) must match, so a caller that
 * retries must reuse its ids, not generate fresh ones per attempt.
 */
export function assertRetryPayload(
  append: PreparedAppend,
  stored: ReadonlyMap<string, StoredEventPayload>,
  defaultMetadata: EventMetadata | undefined,
): void {
  for (const event of append.events) {
    const payload = stored.get(event.id);
    // detectRetry saw every id stored; events are never deleted.
    if (!payload) throw new DuplicateEventIdError(append.streamId, event.id);
    const field = differingField(event, payload, defaultMetadata);
    if (field) throw new IdempotencyConflictError(append.streamId, event.id, field);
  }
}

function differingField(
  event: PreparedEvent,
  stored: StoredEventPayload,
  defaultMetadata: EventMetadata | undefined,
): 'type' | 'schemaVersion' | 'data' | 'metadata' | undefined {
  if (event.type !== stored.type) return 'type';
  if (event.schemaVersion !== stored.schemaVersion) return 'schemaVersion';
  if (event.dataJson !== stored.dataJson) return 'data';
  if (event.metadataJson === stored.metadataJson) return undefined;
  const fresh = JSON.parse(event.metadataJson) as Record<string, unknown>;
  const old = JSON.parse(stored.metadataJson) as Record<string, unknown>;
  // The trace context describes the attempt, not the event: a retry runs in a trace of its own.
  delete fresh.traceparent;
  delete old.traceparent;
  if (defaultMetadata) {
    // JSON round trip: the defaults as they were serialised into the metadata.
    const defaults = JSON.parse(JSON.stringify(defaultMetadata)) as Record<string, unknown>;
    for (const [key, value] of Object.entries(defaults)) {
      if (isDeepStrictEqual(fresh[key], value)) {
        delete fresh[key];
        delete old[key];
      }
    }
  }
  return isDeepStrictEqual(fresh, old) ? undefined : 'metadata';
}
