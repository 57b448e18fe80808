// Fetches the dashboard's JSON API (relative to <base>, so the dashboard works under any prefix).

const tokenKey = 'tidemark.dashboard.token';

export const token = {
  get: () => sessionStorage.getItem(tokenKey) ?? '',
  set: (value) => (value ? sessionStorage.setItem(tokenKey, value) : sessionStorage.removeItem(tokenKey)),
};

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code ?? 'error';
  }
}

async function request(path, init) {
  const response = await fetch(`api/${path}`, init);
  const body = await response.json().catch(() => undefined);
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

export const getJson = (path) => request(path, { headers: { accept: 'application/json' } });

/** An action: POST with the bearer token the operator typed (none: the server answers 401). */
export function act(path) {
  const headers = { accept: 'application/json' };
  const value = token.get();
  if (value) headers.authorization = `Bearer ${value}`;
  return request(path, { method: 'POST', headers });
}

export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== null && value !== '') search.set(key, value);
  const text = search.toString();
  return text ? `?${text}` : '';
}

let source;
const listeners = new Map();

/** Subscribes to the server-sent `health` or `rebuild` events; returns the unsubscribe function. */
export function live(event, listener) {
  if (!source) source = new EventSource('api/live');
  if (!listeners.has(event)) {
    listeners.set(event, new Set());
    source.addEventListener(event, (message) => {
      const data = JSON.parse(message.data);
      for (const each of listeners.get(event)) each(data);
    });
  }
  listeners.get(event).add(listener);
  return () => listeners.get(event).delete(listener);
}
