import { request } from 'node:http';
import { createInMemoryEventStore } from '@tidemark/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ShopClient, startShopServer } from './support/shopClient.js';

interface RawReply {
  status: number;
  body: { error?: { code: string; details?: Record<string, unknown> } } & Record<string, unknown>;
}

/**
 * Requests no well-behaved client sends, over a real socket: bytes that are not UTF-8, bodies on
 * commands that take none, a repeated Idempotency-Key. Each is a 400 with the shop's JSON error,
 * and nothing is appended.
 */
describe('hostile requests are refused whole', () => {
  let port: number;
  let client: ShopClient;
  let close: () => Promise<void>;
  beforeAll(async () => {
    const server = await startShopServer(createInMemoryEventStore());
    port = Number(new URL(server.url).port);
    client = server.client;
    close = server.close;
    expect((await client.post('/accounts', { accountId: 'acc-1', owner: 'Ada', initialDeposit: 10 })).status).toBe(201);
    expect((await client.post('/orders', { orderId: 'ord-1', customerId: 'cust-1' })).status).toBe(201);
  });
  afterAll(() => close());

  /** Headers as raw name, value pairs, so that one can repeat (node then adds none of its own); the body as bytes. */
  const send = (method: string, path: string, headers: string[], body: Buffer | string = '') =>
    new Promise<RawReply>((resolve, reject) => {
      const raw = [...headers, 'host', `127.0.0.1:${port}`, 'content-length', String(Buffer.byteLength(body))];
      const req = request({ host: '127.0.0.1', port, method, path, headers: raw }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
      });
      req.on('error', reject);
      req.end(body);
    });
  const head = async () => (await client.get('/health')).body.headPosition as string;

  it.each([
    ['a 0xff byte', Buffer.from([0xff])],
    ['an overlong slash', Buffer.from([0xc0, 0xaf])],
    ['an encoded surrogate (CESU-8)', Buffer.from([0xed, 0xa0, 0x80])],
  ])('refuses a JSON body with %s in a string instead of storing U+FFFD', async (_name, bytes) => {
    const before = await head();
    const body = Buffer.concat([Buffer.from('{"owner":"B'), bytes, Buffer.from('","initialDeposit":1}')]);
    const reply = await send('POST', '/accounts', ['content-type', 'application/json'], body);
    expect(reply.status).toBe(400);
    expect(reply.body.error).toMatchObject({ code: 'validation', details: { field: 'body' } });
    expect(await head()).toBe(before);
  });

  it.each([
    ['POST', '/accounts/acc-1/close'],
    ['POST', '/orders/ord-1/place'],
    ['DELETE', '/orders/ord-1/items/sku-1'],
    ['DELETE', '/inventory/sku-1/reservations/ord-1'],
  ])('refuses a body on %s %s, which takes none', async (method, path) => {
    const before = await head();
    for (const [type, body] of [
      ['application/json', '{"amount":-5,"junk":true}'],
      ['application/json', '[1,2,3]'],
      ['application/json', '"junk"'],
      ['text/plain', 'hello'],
    ] as const) {
      const reply = await send(method, path, ['content-type', type], body);
      expect(reply.status, `${type} ${body}`).toBe(400);
      expect(reply.body.error?.code).toBe('validation');
    }
    expect(await head()).toBe(before);
  });

  it('still takes a body-less command with no body, or an empty object', async () => {
    expect((await send('POST', '/orders/ord-1/place', ['content-type', 'application/json'], '{}')).status).not.toBe(400);
    expect((await send('POST', '/accounts/acc-1/close', [])).status).toBe(422); // a balance is left: the decider's refusal
  });

  it('answers a body of unknown keys with a short error that does not echo them whole', async () => {
    const before = await head();
    const keys = Array.from({ length: 20_000 }, (_, i) => `"k${i}":1`).join(',');
    // JSON escapes in the body: the key holds a real ESC and a right-to-left override.
    const escaped = `"\\u001b[31m${'k'.repeat(100_000)}\\u202e":1`;
    const reply = await send('POST', '/accounts/acc-1/deposits', ['content-type', 'application/json'], `{${escaped},${keys},"amount":1}`);
    expect(reply.status).toBe(400);
    expect(reply.body.error?.code).toBe('validation');
    // The 800 KB request was answered with the keys quoted twice over (message and issues), escapes included: 1.5 MB.
    const text = JSON.stringify(reply.body);
    expect(text.length).toBeLessThan(10_000);
    expect(text).not.toContain('\\u001b');
    expect(text).not.toContain('\u202e');
    expect(await head()).toBe(before);
  });

  it('refuses a repeated Idempotency-Key instead of joining the two into a third key', async () => {
    const before = await head();
    const headers = ['content-type', 'application/json', 'idempotency-key', 'pay-1', 'idempotency-key', 'pay-2'];
    const reply = await send('POST', '/accounts/acc-1/deposits', headers, '{"amount":3}');
    expect(reply.status).toBe(400);
    expect(reply.body.error).toMatchObject({ code: 'validation', details: { header: 'idempotency-key' } });
    expect(await head()).toBe(before);
  });
});
