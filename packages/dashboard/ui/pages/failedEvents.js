import { act } from '../api.js';
import { badge, h, table, time } from '../dom.js';
import { toast } from '../nav.js';

/** Runs an action and reports it; a refusal (401/403) or a failure shows its message. */
export async function runAction(label, path, after, success = 'done') {
  try {
    await act(path);
    toast(`${label}: ${success}`, 'ok');
  } catch (error) {
    toast(`${label} refused (${error.status ?? 'error'}): ${error.message}`);
  } finally {
    await after?.();
  }
}

/** Failed (halted on) and parked (dead-lettered) events with their retry and skip buttons. */
export function failedTable(failed, refresh) {
  return table(
    ['Projection', 'Status', 'Position', 'Event', 'Error', 'Attempts', 'At', ''],
    failed.map((f) => {
      const path = `projections/${encodeURIComponent(f.projection)}/failed/${f.position}`;
      return h(
        'tr',
        { dataset: { failedPosition: f.position } },
        h('td', {}, f.projection),
        h('td', {}, badge(f.status, f.status === 'failed' ? 'bad' : 'warn')),
        h('td', { class: 'num' }, f.position),
        h('td', {}, h('a', { href: `#/event/${encodeURIComponent(f.eventId)}` }, f.eventType), h('div', { class: 'dim' }, f.streamId)),
        h('td', { class: 'error-text' }, f.message),
        h('td', { class: 'num' }, f.attempts),
        h('td', { class: 'mono' }, time(f.at)),
        h(
          'td',
          { class: 'actions' },
          h('button', { class: 'retry', onclick: () => runAction('Retry', `${path}/retry`, refresh) }, 'Retry'),
          h('button', { class: 'skip danger', onclick: () => runAction('Skip', `${path}/skip`, refresh) }, 'Skip'),
        ),
      );
    }),
    { class: 'failed' },
  );
}
