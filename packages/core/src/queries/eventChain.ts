import type { RecordedEvent } from '../domain/event.js';
import type { EventBrowser, EventChain } from './eventBrowser.js';
import { isEventId, isValidName, maxPageSize } from './eventQuery.js';

const defaultChainLimit = 100;

/**
 * The causation chain from the browser's own lookups, so every adapter answers it alike: causes
 * by following `metadata.causationId` while it names a stored event (a command id or a message
 * id ends the walk), effects breadth first through the causation index, and the correlation
 * group through the correlation index. Each list stops at `limit` (then `truncated` is true).
 */
export async function loadEventChain(
  browser: Pick<EventBrowser, 'getEvent' | 'listEvents'>,
  eventId: string,
  options: { limit?: number } = {},
): Promise<EventChain | undefined> {
  const limit = Math.min(Math.max(1, Math.floor(options.limit ?? defaultChainLimit)), maxPageSize);
  const event = await browser.getEvent(eventId);
  if (!event) return undefined;
  let truncated = false;

  const causes: RecordedEvent[] = [];
  const seen = new Set([event.id]);
  let causationId = event.metadata.causationId;
  while (isEventId(causationId) && !seen.has(causationId)) {
    if (causes.length === limit) {
      truncated = true;
      break;
    }
    const cause = await browser.getEvent(causationId);
    if (!cause) break;
    seen.add(cause.id);
    causes.push(cause);
    causationId = cause.metadata.causationId;
  }

  const effects: EventChain['effects'] = [];
  let frontier = [event];
  for (let depth = 1; frontier.length > 0 && !truncated; depth++) {
    const next: RecordedEvent[] = [];
    for (const parent of frontier) {
      const page = await browser.listEvents({ causationId: parent.id, limit: Math.min(maxPageSize, limit - effects.length + 1) });
      // Log order reads as a story: the page came newest first.
      for (const child of page.events.reverse()) {
        if (seen.has(child.id)) continue;
        if (effects.length === limit) {
          truncated = true;
          break;
        }
        seen.add(child.id);
        effects.push({ event: child, depth });
        next.push(child);
      }
      if (truncated) break;
    }
    frontier = next;
  }

  let correlated: RecordedEvent[] = [];
  const correlationId = event.metadata.correlationId;
  // An id the log could not be filtered by (over 256 characters, say) has no group to show.
  if (typeof correlationId === 'string' && isValidName(correlationId)) {
    const page = await browser.listEvents({ correlationId, limit });
    if (page.next !== undefined) truncated = true;
    correlated = page.events.reverse();
  }
  return { event, causes, effects, correlated, truncated };
}
