import { getJson, live } from '../api.js';
import { badge, h, replace, section, table } from '../dom.js';
import { failedTable, runAction } from './failedEvents.js';

const stateTone = { running: 'ok', standby: 'dim', retrying: 'warn', failed: 'bad', stopped: 'dim', starting: 'dim' };

export function lagCells(view) {
  const lag = view.lag;
  return [
    h('td', { class: 'num lag-events' }, lag ? `${lag.events}${lag.exact ? '' : '+'}` : '—'),
    h('td', { class: 'num lag-seconds' }, lag ? lag.seconds.toFixed(1) : '—'),
  ];
}

function rebuildCell(view) {
  const r = view.rebuild;
  if (!r) return h('td', { class: 'rebuild' });
  const percent = Math.round((r.fraction ?? 0) * 100);
  return h(
    'td',
    { class: 'rebuild' },
    h('div', { class: 'progress' }, h('div', { class: 'bar', dataset: { percent } })),
    h('span', { class: `rebuild-phase phase-${r.phase}` }, r.phase),
    ' ',
    h('span', { class: 'dim' }, `${percent}% · ${r.eventsProcessed} events`),
    r.error && h('div', { class: 'error-text' }, r.error),
  );
}

/** Projectors: state, checkpoint, lag in events and seconds, failures; rebuild with live progress, retry and skip. */
export async function projectionsPage(view) {
  let stopped = false;
  const refresh = async () => {
    if (stopped) return;
    const { projections } = await getJson('projections');
    const rows = projections.map((p) =>
      h(
        'tr',
        { dataset: { projection: p.name } },
        h('td', {}, h('strong', {}, p.name)),
        h('td', {}, badge(p.state, stateTone[p.state] ?? 'dim')),
        h('td', { class: 'num checkpoint' }, p.checkpoint),
        ...lagCells(p),
        h('td', { class: 'error-text' }, p.failure ? `Halted at ${p.failure.position}: ${p.failure.message}` : (p.lastError ?? '')),
        rebuildCell(p),
        h(
          'td',
          { class: 'actions' },
          p.rebuildable &&
            h(
              'button',
              {
                class: 'rebuild-button',
                disabled: p.rebuild && ['replaying', 'swapping'].includes(p.rebuild.phase),
                onclick: () => runAction(`Rebuild of ${p.name}`, `projections/${encodeURIComponent(p.name)}/rebuild`, refresh, 'started'),
              },
              'Rebuild',
            ),
        ),
      ),
    );
    replace(
      view,
      h('h1', {}, 'Projections'),
      section(
        'Projectors',
        table(['Name', 'State', 'Checkpoint', 'Lag (events)', 'Lag (s)', 'Error', 'Rebuild', ''], rows, { class: 'projections' }),
      ),
      section(
        'Failed and parked events',
        failedTable(
          projections.flatMap((p) => p.failed),
          refresh,
        ),
      ),
    );
    // Widths through the CSSOM: the page's CSP allows no inline style attributes.
    for (const bar of view.querySelectorAll('.progress .bar')) bar.style.width = `${bar.dataset.percent}%`;
  };
  await refresh();
  const timer = setInterval(() => refresh().catch(() => {}), 2000);
  let pending;
  const unsubscribe = live('rebuild', () => {
    // Progress comes in bursts: redraw at most every 200 ms.
    pending ??= setTimeout(() => {
      pending = undefined;
      refresh().catch(() => {});
    }, 200);
  });
  return () => {
    stopped = true;
    clearInterval(timer);
    clearTimeout(pending);
    unsubscribe();
  };
}
