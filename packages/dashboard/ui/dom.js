// The one way this dashboard builds DOM: text always goes in as text nodes (textContent), never
// as HTML, so event data holding `<script>` or markup is shown, not run.

/** h('a', { href, class, onclick }, 'text', child…): an element with attributes and children. */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') element.addEventListener(name.slice(2), value);
    else if (name === 'class') element.className = value;
    else if (name === 'dataset') Object.assign(element.dataset, value);
    else if (name === 'value') element.value = value;
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's children. */
export function replace(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

/** JSON in a <pre>, as text. */
export function json(value, attributes = {}) {
  return h('pre', { class: 'json', ...attributes }, JSON.stringify(value, null, 2));
}

export function time(value) {
  if (value === undefined || value === null) return '—';
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toISOString().replace('T', ' ').replace('Z', '');
}

export function ago(value) {
  if (value === undefined || value === null) return '—';
  const seconds = Math.max(0, (Date.now() - new Date(value).getTime()) / 1000);
  if (seconds < 90) return `${Math.round(seconds)} s ago`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
  return `${Math.round(seconds / 3600)} h ago`;
}

export function badge(text, tone) {
  return h('span', { class: `badge ${tone ?? ''}` }, text);
}

export function table(headers, rows, attributes = {}) {
  return h(
    'table',
    attributes,
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        headers.map((header) => h('th', {}, header)),
      ),
    ),
    h('tbody', {}, rows.length > 0 ? rows : h('tr', { class: 'empty' }, h('td', { colspan: headers.length }, 'Nothing here.'))),
  );
}

export function section(title, ...children) {
  return h('section', { class: 'card' }, h('h2', {}, title), ...children);
}
