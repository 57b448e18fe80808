import { request } from 'node:http';
import { connect } from 'node:net';
import { createInMemoryEventStore } from '@tidemark/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startShopServer } from './support/shopClient.js';

interface RawReply {
  status: number;
  contentType: string | undefined;
  text: string;
}

const long = 'x'.repeat(5000);

/**
 * Every rejection fastify or node's HTTP parser makes on its own, over a real socket (a 431 has
 * no request object, so `inject` cannot show it): the shop's error body, and never more than a
 * short prefix of the client's path.
 */
describe('rejections the shop does not route still answer {"error":{code,message,details}}', () => {
  let port: number;
  let close: () => Promise<void>;
  beforeAll(async () => {
    const server = await startShopServer(createInMemoryEventStore());
    port = Number(new URL(server.url).port);
    close = server.close;
  });
  afterAll(() => close());

  /** node's client sends the path as given: no normalising of percent-escapes as fetch's URL parser might do. */
  const send = (method: string, path: string, options: { headers?: Record<string, string>; body?: string } = {}) =>
    new Promise<RawReply>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method, path, headers: options.headers }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'], text }));
      });
      req.on('error', reject);
      req.end(options.body);
    });

  /** Bytes straight onto a socket, for what no HTTP client would send; resolves with what came back before the close. */
  const rawSocket = (bytes: string) =>
    new Promise<RawReply>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      let received = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        received += chunk;
      });
      socket.on('error', reject);
      socket.on('close', () => {
        const [head = '', text = ''] = received.split('\r\n\r\n', 2);
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
        const contentType = /^content-type: (.*)$/im.exec(head)?.[1];
        resolve({ status, contentType, text });
      });
      socket.write(bytes);
    });

  const expectErrorBody = (reply: RawReply, status: number, code: string) => {
    expect(reply.status, reply.text).toBe(status);
    expect(reply.contentType).toMatch(/^application\/json/);
    expect(JSON.parse(reply.text)).toEqual({ error: { code, message: expect.any(String), details: expect.any(Object) } });
    // Never the whole path back: a short prefix at most.
    expect(reply.text).not.toContain('x'.repeat(100));
    expect(reply.text.length).toBeLessThan(600);
  };

  it.each([
    ['a path parameter over its length limit', 'GET', `/accounts/${long}`, 414, 'uri_too_long'],
    ['a percent-escape that is not hex', 'GET', `/accounts/%zz${long}`, 400, 'malformed_request'],
    ['percent-escapes that are not UTF-8 (a lone surrogate)', 'GET', `/accounts/%ED%A0%80${long}`, 400, 'malformed_request'],
    ['an unknown route with a long path', 'GET', `/nope/${long}`, 404, 'not_found'],
    ['a method the path does not take', 'PUT', '/accounts/abc', 404, 'not_found'],
    ['a query string on an unknown route', 'GET', `/nope?q=${long}`, 404, 'not_found'],
  ])('%s', async (_what, method, path, status, code) => {
    expectErrorBody(await send(method, path), status, code);
  });

  it('shows a short, printable prefix of the path in the message', async () => {
    const reply = await send('GET', `/nope/%1b[31m${long}`);
    expectErrorBody(reply, 404, 'not_found');
    const { message, details } = JSON.parse(reply.text).error;
    expect(details.path).toBe(`/nope/%1b[31m${'x'.repeat(64 - '/nope/%1b[31m'.length)}…`);
    expect(message).toBe(`No route for GET ${details.path}`);
  });

  it('a body fastify cannot parse, or of a type it does not take', async () => {
    const json = { 'content-type': 'application/json' };
    expectErrorBody(await send('POST', '/accounts', { headers: json, body: '{"owner":' }), 400, 'malformed_request');
    expectErrorBody(
      await send('POST', '/accounts', { headers: { 'content-type': 'application/xml' }, body: '<a/>' }),
      415,
      'unsupported_media_type',
    );
  });

  it('headers over node’s size limit: 431 with the error body', async () => {
    const reply = await rawSocket(`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'y'.repeat(20_000)}\r\n\r\n`);
    expectErrorBody(reply, 431, 'request_header_fields_too_large');
  });

  it('CONNECT, which node would drop without a word: 404 with the error body', async () => {
    const reply = await rawSocket('CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n');
    expectErrorBody(reply, 404, 'not_found');
    expect(JSON.parse(reply.text).error.details).toEqual({ method: 'CONNECT', path: '127.0.0.1:22' });
  });

  it('an Expect other than 100-continue: 417 with the error body, and the command not run', async () => {
    const reply = await rawSocket(
      'POST /accounts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nExpect: bogus\r\nContent-Length: 36\r\n\r\n{"owner":"Ada","initialDeposit":100}',
    );
    expectErrorBody(reply, 417, 'expectation_failed');
    expect((await send('GET', '/health')).text).toContain('"headPosition":"0"');
  });

  it('bytes that are not HTTP: 400 with the error body', async () => {
    const reply = await rawSocket(`HELLO ${long}\r\n\r\n`);
    expectErrorBody(reply, 400, 'malformed_request');
  });
});

describe('a client too slow to send its whole request', () => {
  it('gets 408 with the error body and its connection closed, instead of holding it for ever; nothing is written', async () => {
    const store = createInMemoryEventStore();
    const server = await startShopServer(store, { requestTimeoutMs: 300 });
    try {
      const port = Number(new URL(server.url).port);
      const started = Date.now();
      // The headers, then half the body, then nothing (slowloris): fastify's default waited for ever.
      const received = await new Promise<string>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1');
        let text = '';
        socket.setEncoding('utf8');
        socket.on('data', (chunk: string) => {
          text += chunk;
        });
        socket.on('error', reject);
        socket.on('close', () => resolve(text));
        socket.write('POST /accounts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 36\r\n\r\n{"owner":"Ada",');
      });
      expect(Date.now() - started).toBeLessThan(5000);
      const [head = '', text = ''] = received.split('\r\n\r\n', 2);
      expect(head).toMatch(/^HTTP\/1\.1 408 /);
      expect(JSON.parse(text)).toEqual({ error: { code: 'request_timeout', message: expect.any(String), details: {} } });
      expect(await store.headPosition()).toBe(0n);
      // The server still serves.
      expect((await server.client.get('/health')).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});
