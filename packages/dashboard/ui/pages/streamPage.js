import { getJson, query } from '../api.js';
import { h, json, replace, section } from '../dom.js';
import { navigate } from '../nav.js';
import { eventTable } from './eventRows.js';

/** One stream: the state its decider folds as of a version or a time, and its events newest first. */
export async function streamPage(view, { id, params, info }) {
  const category = id.split('-')[0];
  const version = h('input', { name: 'version', type: 'number', min: '1', placeholder: 'latest', value: params.version ?? '' });
  const asOf = h('input', { name: 'asOf', placeholder: '2026-11-30T12:00:00Z', value: params.asOf ?? '' });
  const stateBox = h('div', {});
  const stateCard = info.deciders.includes(category)
    ? section(
        'State',
        h(
          'form',
          {
            class: 'filters',
            onsubmit: (e) => {
              e.preventDefault();
              navigate(`/stream/${encodeURIComponent(id)}`, { version: version.value, asOf: asOf.value.trim() });
            },
          },
          h('label', {}, h('span', {}, 'As of version'), version),
          h('label', {}, h('span', {}, 'or as of time'), asOf),
          h('div', { class: 'buttons' }, h('button', { class: 'primary' }, 'Fold')),
        ),
        stateBox,
      )
    : section('State', h('p', { class: 'dim' }, `No decider is registered for the category '${category}'.`));
  const events = await getJson(`events${query({ stream: id, limit: 100, cursor: params.cursor })}`);
  replace(
    view,
    h('h1', {}, 'Stream ', h('span', { class: 'mono' }, id)),
    stateCard,
    section(
      'Events, newest first',
      eventTable(events.events, { showStream: false }),
      h(
        'div',
        { class: 'pager' },
        events.next && h('a', { class: 'button', href: `#/stream/${encodeURIComponent(id)}${query({ cursor: events.next })}` }, 'Older →'),
      ),
    ),
  );
  if (info.deciders.includes(category)) {
    const folded = await getJson(`streams/${encodeURIComponent(id)}/state${query({ version: params.version, asOf: params.asOf })}`);
    replace(
      stateBox,
      h('p', { class: 'dim' }, folded.exists ? `After version ${folded.version}` : 'The stream has no events at that point.'),
      json(folded.state, { id: 'stream-state' }),
    );
  }
}
