import { type RecordedEvent, streamCategory } from '../domain/event.js';
import type { EventStore } from '../eventStore/eventStore.js';
import type { EventBrowser, EventQuery, StreamSummary } from './eventBrowser.js';
import { loadEventChain } from './eventChain.js';
import {
  encodeEventCursor,
  isEventId,
  isPastCursor,
  type ResolvedEventQuery,
  resolveEventCountRange,
  resolveEventQuery,
  resolveStreamQuery,
} from './eventQuery.js';

function matches(event: RecordedEvent, query: ResolvedEventQuery): boolean {
  const at = event.recordedAt.getTime();
  return (
    (query.type === undefined || event.type === query.type) &&
    (query.category === undefined || streamCategory(event.streamId) === query.category) &&
    (query.streamId === undefined || event.streamId === query.streamId) &&
    (query.from === undefined || at >= query.from) &&
    (query.to === undefined || at < query.to) &&
    (query.correlationId === undefined || event.metadata.correlationId === query.correlationId) &&
    (query.causationId === undefined || event.metadata.causationId === query.causationId) &&
    (query.after === undefined || isPastCursor(event, query.path, query.after))
  );
}

/** Newest first in the path's order: by recorded time on the time path, else by position. */
function newestFirst(query: ResolvedEventQuery): (a: RecordedEvent, b: RecordedEvent) => number {
  const byPosition = (a: RecordedEvent, b: RecordedEvent) => (a.position < b.position ? 1 : a.position > b.position ? -1 : 0);
  if (query.path !== 'time') return byPosition;
  return (a, b) => b.recordedAt.getTime() - a.recordedAt.getTime() || byPosition(a, b);
}

/**
 * The event browser over any EventStore's `readAll`: every call scans the whole log, which is
 * what an in-memory store holds anyway (tests, examples). The SQL adapters seek an index instead.
 */
export function createInMemoryEventBrowser(store: EventStore): EventBrowser {
  async function scan(keep: (event: RecordedEvent) => boolean): Promise<RecordedEvent[]> {
    const kept: RecordedEvent[] = [];
    for await (const event of store.readAll()) if (keep(event)) kept.push(event);
    return kept;
  }

  const browser: EventBrowser = {
    async listEvents(query?: EventQuery) {
      const resolved = resolveEventQuery(query);
      const events = (await scan((event) => matches(event, resolved))).sort(newestFirst(resolved));
      const page = events.slice(0, resolved.limit);
      const last = page[page.length - 1];
      return events.length > resolved.limit && last ? { events: page, next: encodeEventCursor(last) } : { events: page };
    },
    async getEvent(eventId) {
      if (!isEventId(eventId)) return undefined;
      const [event] = await scan((candidate) => candidate.id === eventId.toLowerCase());
      return event;
    },
    getChain: (eventId, options) => loadEventChain(browser, eventId, options),
    async listStreams(query) {
      const resolved = resolveStreamQuery(query);
      const streams = new Map<string, StreamSummary>();
      for await (const event of store.readAll()) {
        if (resolved.after !== undefined && event.streamId <= resolved.after) continue;
        const category = streamCategory(event.streamId);
        if (resolved.category !== undefined && category !== resolved.category) continue;
        const summary = streams.get(event.streamId);
        if (summary) {
          summary.eventCount++;
          summary.lastVersion = event.version;
          summary.lastRecordedAt = event.recordedAt;
        } else {
          streams.set(event.streamId, {
            streamId: event.streamId,
            category,
            eventCount: 1,
            lastVersion: event.version,
            lastRecordedAt: event.recordedAt,
          });
        }
      }
      // Code-unit order, as SQLite's BINARY collation and PostgreSQL's "C" sort them.
      const sorted = [...streams.values()].sort((a, b) => (a.streamId < b.streamId ? -1 : a.streamId > b.streamId ? 1 : 0));
      const page = sorted.slice(0, resolved.limit);
      const last = page[page.length - 1];
      return sorted.length > resolved.limit && last ? { streams: page, next: last.streamId } : { streams: page };
    },
    async countEvents(range) {
      const { after, upTo, limit } = resolveEventCountRange(range);
      if (upTo <= after) return 0;
      let count = 0;
      let previous: bigint | undefined;
      for await (const event of store.readAll({ after })) {
        if (event.position > upTo) break;
        // The parts of an event an upcaster split share its position: one stored event.
        if (event.position === previous) continue;
        previous = event.position;
        if (++count >= limit) break;
      }
      return count;
    },
  };
  return browser;
}
