import { getJson } from '../api.js';
import { ago, badge, h, replace, section, table } from '../dom.js';
import { failedTable } from './failedEvents.js';
import { lagCells } from './projectionsPage.js';

/** What waits to leave (relays, outboxes), who consumes the log and how far behind, and their dead letters. */
export async function messagingPage(view) {
  let stopped = false;
  const refresh = async () => {
    if (stopped) return;
    const m = await getJson('messaging');
    replace(
      view,
      h('h1', {}, 'Messaging'),
      section(
        'Relays',
        table(
          ['Relay', 'State', 'Backlog', 'Oldest unpublished', 'Published', 'Failures', 'Last error'],
          m.relays.map((r) =>
            h(
              'tr',
              {},
              h('td', {}, h('strong', {}, r.name)),
              h('td', {}, badge(r.state, r.state === 'running' ? 'ok' : r.state === 'retrying' ? 'warn' : 'dim')),
              h('td', { class: 'num' }, r.backlog ?? '—'),
              h('td', {}, ago(r.oldestUnpublishedAt)),
              h('td', { class: 'num' }, r.published),
              h('td', { class: 'num' }, r.failures),
              h('td', { class: 'error-text' }, r.lastError ?? ''),
            ),
          ),
        ),
        m.outboxes.length > 0 &&
          table(
            ['Outbox', 'Backlog', 'Oldest unpublished', 'Retained'],
            m.outboxes.map((o) =>
              h(
                'tr',
                {},
                h('td', {}, o.name),
                h('td', { class: 'num' }, o.backlog),
                h('td', {}, ago(o.oldestUnpublishedAt)),
                h('td', { class: 'num' }, o.retained),
              ),
            ),
          ),
      ),
      section(
        'Consumers',
        table(
          ['Consumer', 'State', 'Checkpoint', 'Lag (events)', 'Lag (s)', 'Error'],
          m.consumers.map((c) =>
            h(
              'tr',
              { dataset: { consumer: c.name } },
              h('td', {}, h('strong', {}, c.name)),
              h('td', {}, badge(c.state, c.state === 'running' ? 'ok' : 'dim')),
              h('td', { class: 'num' }, c.checkpoint),
              ...lagCells(c),
              h('td', { class: 'error-text' }, c.lastError ?? ''),
            ),
          ),
        ),
      ),
      section('Dead letters', failedTable(m.deadLetters, refresh)),
    );
  };
  await refresh();
  const timer = setInterval(() => refresh().catch(() => {}), 3000);
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
