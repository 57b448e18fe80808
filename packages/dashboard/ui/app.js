import { getJson, token } from './api.js';
import { replace } from './dom.js';
import { navigate, toast } from './nav.js';
import { eventPage } from './pages/eventPage.js';
import { eventsPage } from './pages/eventsPage.js';
import { healthPage } from './pages/healthPage.js';
import { messagingPage } from './pages/messagingPage.js';
import { projectionsPage } from './pages/projectionsPage.js';
import { streamPage } from './pages/streamPage.js';
import { streamsPage } from './pages/streamsPage.js';

const routes = [
  [/^\/events$/, eventsPage, 'events'],
  [/^\/event\/(.+)$/, eventPage, 'events'],
  [/^\/streams$/, streamsPage, 'streams'],
  [/^\/stream\/(.+)$/, streamPage, 'streams'],
  [/^\/projections$/, projectionsPage, 'projections'],
  [/^\/messaging$/, messagingPage, 'messaging'],
  [/^\/health$/, healthPage, 'health'],
];

const main = document.getElementById('main');
let leave = () => {};

/** The hash is the page and its parameters: `#/events?type=order.placed`. */
function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/events';
  const [path, search = ''] = raw.split('?');
  return { path, params: Object.fromEntries(new URLSearchParams(search)) };
}

async function render() {
  leave();
  leave = () => {};
  const { path, params } = parseHash();
  const route = routes.find(([pattern]) => pattern.test(path));
  if (!route) return navigate('/events');
  const [pattern, page, tab] = route;
  for (const link of document.querySelectorAll('#nav a')) link.classList.toggle('active', link.dataset.page === tab);
  const match = pattern.exec(path);
  const view = document.createElement('div');
  view.className = 'page';
  replace(main, view);
  try {
    leave = (await page(view, { params, id: match[1] && decodeURIComponent(match[1]), info })) ?? (() => {});
  } catch (error) {
    replace(view, Object.assign(document.createElement('p'), { className: 'error', textContent: error.message }));
  }
}

const info = await getJson('info').catch(() => ({ title: 'tidemark', actionsEnabled: false, deciders: [] }));
document.getElementById('title').textContent = info.title;
document.title = `${info.title} · dashboard`;
const input = document.getElementById('token');
input.value = token.get();
input.addEventListener('change', () => token.set(input.value.trim()));
document.getElementById('token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  token.set(input.value.trim());
  toast('Token set for this tab', 'ok');
});
window.addEventListener('hashchange', render);
render();
