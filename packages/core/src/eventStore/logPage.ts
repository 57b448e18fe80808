import type { RecordedEvent } from '../domain/event.js';
import type { LogPage } from './eventStore.js';
import { maxPosition } from './position.js';

/**
 * A readPage answer from what the store read: `rows` stored events (the last at `lastRow`, 0n for
 * none) of at most `limit`, the `events` the read stages made of them, and the head read with
 * them. The head never trails the page (another process may commit between two statements).
 */
export function logPage(events: RecordedEvent[], rows: number, limit: number, head: bigint, lastRow: bigint): LogPage {
  const top = maxPosition(head, lastRow);
  const reachedHead = rows < limit;
  return { events, head: top, reachedHead, seenUpTo: reachedHead ? top : lastRow };
}
