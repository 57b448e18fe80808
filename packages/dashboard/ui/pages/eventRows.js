import { h, table, time } from '../dom.js';

const link = (path, text, attributes = {}) => h('a', { href: `#${path}`, ...attributes }, text);
export const eventLink = (event, text = event.type) => link(`/event/${encodeURIComponent(event.id)}`, text, { class: 'event-link' });
export const streamLink = (streamId) => link(`/stream/${encodeURIComponent(streamId)}`, streamId);

/** The events table of the log, a stream and a chain: one row per event, newest first where the page says so. */
export function eventTable(events, { showStream = true } = {}) {
  return table(
    ['Position', 'Recorded at', ...(showStream ? ['Stream'] : []), 'Version', 'Type', 'Correlation'],
    events.map((event) =>
      h(
        'tr',
        { dataset: { eventId: event.id } },
        h('td', { class: 'num' }, event.position),
        h('td', { class: 'mono' }, time(event.recordedAt)),
        showStream && h('td', {}, streamLink(event.streamId)),
        h('td', { class: 'num' }, event.version),
        h('td', {}, eventLink(event)),
        h('td', { class: 'mono dim' }, event.metadata?.correlationId ?? ''),
      ),
    ),
    { class: 'events' },
  );
}
