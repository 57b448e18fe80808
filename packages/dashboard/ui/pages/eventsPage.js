import { getJson, query } from '../api.js';
import { h, replace, section } from '../dom.js';
import { navigate } from '../nav.js';
import { eventTable } from './eventRows.js';

const fields = [
  ['type', 'Type', 'order.placed'],
  ['category', 'Category', 'order'],
  ['stream', 'Stream', 'order-42'],
  ['correlationId', 'Correlation id', ''],
  ['from', 'From', ''],
  ['to', 'To', ''],
];

/** datetime-local shows local time; the API takes ISO 8601 in UTC. */
const toIso = (local) => (local ? new Date(local).toISOString() : '');
const toLocal = (iso) => {
  if (!iso) return '';
  const date = new Date(iso);
  return new Date(date.getTime() - date.getTimezoneOffset() * 60_000).toISOString().slice(0, 19);
};

/** The global log, newest first, filtered and paged by keyset cursor (`next`). */
export async function eventsPage(view, { params }) {
  const inputs = Object.fromEntries(
    fields.map(([name, , placeholder]) => {
      const time = name === 'from' || name === 'to';
      return [
        name,
        h('input', {
          name,
          type: time ? 'datetime-local' : 'text',
          step: time ? '1' : undefined,
          placeholder,
          value: time ? toLocal(params[name]) : (params[name] ?? ''),
        }),
      ];
    }),
  );
  const form = h(
    'form',
    {
      class: 'filters',
      onsubmit: (event) => {
        event.preventDefault();
        const values = Object.fromEntries(Object.entries(inputs).map(([name, input]) => [name, input.value.trim()]));
        navigate('/events', { ...values, from: toIso(values.from), to: toIso(values.to) });
      },
    },
    fields.map(([name, label]) => h('label', {}, h('span', {}, label), inputs[name])),
    h(
      'div',
      { class: 'buttons' },
      h('button', { type: 'submit', class: 'primary' }, 'Filter'),
      h('a', { href: '#/events', class: 'button' }, 'Clear'),
    ),
  );
  const results = h('div', { id: 'event-results' }, h('p', { class: 'dim' }, 'Loading…'));
  replace(view, h('h1', {}, 'Events'), section('Filter the log', form), results);

  const page = await getJson(`events${query({ ...params, limit: params.limit ?? 50 })}`);
  const older =
    page.next && h('a', { class: 'button', id: 'older', href: `#/events${query({ ...params, cursor: page.next })}` }, 'Older →');
  const newest = params.cursor && h('a', { class: 'button', href: `#/events${query({ ...params, cursor: undefined })}` }, '↖ Newest');
  replace(
    results,
    section(
      `${page.events.length} event${page.events.length === 1 ? '' : 's'}${params.cursor ? ' (older page)' : ''}, newest first`,
      eventTable(page.events),
      h('div', { class: 'pager' }, newest, older),
    ),
  );
}
