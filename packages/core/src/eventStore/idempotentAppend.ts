import { DuplicateEventIdError } from '../domain/errors.js';
import type { PreparedAppend } from './prepareAppend.js';

/** Where an already-stored event id lives. */
export interface StoredEventRef {
  streamId: string;
  version: number;
  position: bigint;
}

/**
 * Decides what an append with caller-supplied ids is, given which of its ids are stored:
 * - none stored → a new append (undefined);
 * - all stored, in this stream, at consecutive versions in batch order → a retry of that
 *   append: the caller gets its original outcome and nothing is written;
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
