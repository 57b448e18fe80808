import type { AddressInfo } from 'node:net';
import type { EventStore } from '@tidemark/core';
import { buildShopApp, type ShopAppOptions } from '../../src/http/buildShopApp.js';

export interface Reply {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: a JSON body whose shape each test asserts on.
  body: any;
}

export interface ShopClient {
  request(method: string, path: string, options?: { json?: unknown; raw?: string; headers?: Record<string, string> }): Promise<Reply>;
  get(path: string, headers?: Record<string, string>): Promise<Reply>;
  post(path: string, json?: unknown, headers?: Record<string, string>): Promise<Reply>;
  delete(path: string, headers?: Record<string, string>): Promise<Reply>;
}

/** A JSON client over real HTTP (fetch), so the tests see what curl would see. */
export function shopClient(baseUrl: string): ShopClient {
  const request: ShopClient['request'] = async (method, path, options = {}) => {
    const headers: Record<string, string> = { ...options.headers };
    let body: string | undefined;
    if (options.raw !== undefined) body = options.raw;
    else if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      headers['content-type'] ??= 'application/json';
    }
    const response = await fetch(`${baseUrl}${path}`, { method, headers, ...(body !== undefined && { body }) });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
  };
  return {
    request,
    get: (path, headers) => request('GET', path, { ...(headers && { headers }) }),
    post: (path, json, headers) => request('POST', path, { json, ...(headers && { headers }) }),
    delete: (path, headers) => request('DELETE', path, { ...(headers && { headers }) }),
  };
}

/** The shop app listening on a free port of 127.0.0.1 (port 0), as `main.ts` would run it. */
export async function startShopServer(
  store: EventStore,
  options: Omit<ShopAppOptions, 'store'> = {},
): Promise<{ url: string; client: ShopClient; close: () => Promise<void> }> {
  const app = buildShopApp({ store, ...options });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return { url, client: shopClient(url), close: () => app.close() };
}

/**
 * Waits (without sleeping a fixed time) until the wall clock has moved past `instant`, so that
 * the next event is recorded strictly later than everything recorded so far.
 */
export async function clockPast(instant: Date): Promise<Date> {
  while (Date.now() <= instant.getTime()) await new Promise((resolve) => setImmediate(resolve));
  return new Date();
}
