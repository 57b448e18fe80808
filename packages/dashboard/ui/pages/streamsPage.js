import { getJson, query } from '../api.js';
import { h, replace, section, table, time } from '../dom.js';
import { navigate } from '../nav.js';
import { streamLink } from './eventRows.js';

/** The streams in id order with their event counts, by category, paged. */
export async function streamsPage(view, { params }) {
  const category = h('input', { name: 'category', placeholder: 'order', value: params.category ?? '' });
  const form = h(
    'form',
    {
      class: 'filters',
      onsubmit: (e) => {
        e.preventDefault();
        navigate('/streams', { category: category.value.trim() });
      },
    },
    h('label', {}, h('span', {}, 'Category'), category),
    h('div', { class: 'buttons' }, h('button', { class: 'primary' }, 'Filter')),
  );
  const page = await getJson(`streams${query(params)}`);
  replace(
    view,
    h('h1', {}, 'Streams'),
    section('Filter', form),
    section(
      'Streams',
      table(
        ['Stream', 'Category', 'Events', 'Last version', 'Last event'],
        page.streams.map((s) =>
          h(
            'tr',
            {},
            h('td', {}, streamLink(s.streamId)),
            h('td', {}, s.category),
            h('td', { class: 'num' }, s.eventCount),
            h('td', { class: 'num' }, s.lastVersion),
            h('td', { class: 'mono' }, time(s.lastRecordedAt)),
          ),
        ),
      ),
      h(
        'div',
        { class: 'pager' },
        page.next && h('a', { class: 'button', href: `#/streams${query({ ...params, cursor: page.next })}` }, 'Next →'),
      ),
    ),
  );
}
