import { getJson } from '../api.js';
import { h, json, replace, section, time } from '../dom.js';
import { eventLink, eventTable, streamLink } from './eventRows.js';

function envelope(event, info) {
  const category = event.streamId.split('-')[0];
  const state =
    info.deciders.includes(category) &&
    h(
      'a',
      { class: 'button', href: `#/stream/${encodeURIComponent(event.streamId)}?version=${event.version}` },
      'Stream state after this event',
    );
  const row = (label, value) => [h('dt', {}, label), h('dd', {}, value)];
  return section(
    'Envelope',
    h(
      'dl',
      { class: 'envelope' },
      row('Id', h('span', { class: 'mono' }, event.id)),
      row('Type', h('span', { id: 'event-type' }, event.type)),
      row('Schema version', event.schemaVersion),
      row('Stream', streamLink(event.streamId)),
      row('Version', event.version),
      row('Position', event.position),
      row('Recorded at', time(event.recordedAt)),
    ),
    state,
    h(
      'div',
      { class: 'columns' },
      h('div', {}, h('h3', {}, 'Data'), json(event.data, { id: 'event-data' })),
      h('div', {}, h('h3', {}, 'Metadata'), json(event.metadata, { id: 'event-metadata' })),
    ),
  );
}

function chainSection(chain) {
  const item = (event, extra) =>
    h(
      'li',
      {},
      eventLink(event),
      ' ',
      h('span', { class: 'dim' }, `${event.streamId} v${event.version} · ${time(event.recordedAt)}`),
      extra,
    );
  return section(
    'Causation chain',
    h('div', { class: 'chain' }, [
      h(
        'div',
        {},
        h('h3', {}, 'Caused by'),
        chain.causes.length
          ? h(
              'ol',
              { id: 'causes' },
              [...chain.causes].reverse().map((e) => item(e)),
            )
          : h('p', { class: 'dim' }, 'No earlier event (a command or an outside message started it).'),
      ),
      h('div', {}, h('h3', {}, 'This event'), h('p', {}, h('strong', {}, chain.event.type))),
      h(
        'div',
        {},
        h('h3', {}, 'Caused'),
        chain.effects.length
          ? h(
              'ul',
              { id: 'effects' },
              chain.effects.map(({ event, depth }) => item(event, h('span', { class: 'depth' }, depth > 1 ? ` (depth ${depth})` : ''))),
            )
          : h('p', { class: 'dim' }, 'No later event names it as its cause.'),
      ),
    ]),
    chain.correlated.length > 0 && [
      h('h3', {}, `Same correlation id (${chain.correlated.length}${chain.truncated ? '+' : ''})`),
      eventTable(chain.correlated),
    ],
  );
}

/** One event: its whole envelope, data and metadata as text, and its causation chain. */
export async function eventPage(view, { id, info }) {
  const { event } = await getJson(`events/${encodeURIComponent(id)}`);
  const chain = await getJson(`events/${encodeURIComponent(id)}/chain`);
  replace(view, h('h1', {}, 'Event ', h('span', { class: 'mono' }, event.type)), envelope(event, info), chainSection(chain));
}
