import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { recordSpans, waitFor } from '@tidemark/testing';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { startShop } from './support/startShop.js';

const recorder = recordSpans();
const dataDir = mkdtempSync(join(tmpdir(), 'shop-tracing-'));
afterAll(async () => {
  await recorder.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const remoteTraceId = '4bf92f3577b34da6a3ce929d0e0e4736';
const remoteSpanId = '00f067aa0ba902b7';

describe('the shop traced end to end', () => {
  it('runs one trace from the HTTP request to the read-model write, and logs with the correlation id', async () => {
    const lines: string[] = [];
    const logger = pino(
      { level: 'info' },
      new Writable({
        write(chunk, _encoding, done) {
          lines.push(...String(chunk).trim().split('\n'));
          done();
        },
      }),
    );
    const { shop, client } = await startShop({ config: { dataDir }, logger });
    try {
      const opened = await client.post(
        '/accounts',
        { owner: 'ada', initialDeposit: 10 },
        { traceparent: `00-${remoteTraceId}-${remoteSpanId}-01`, 'x-correlation-id': 'corr-trace-1' },
      );
      expect(opened.status).toBe(201);
      expect(opened.headers.get('x-correlation-id')).toBe('corr-trace-1');
      const balance = await client.get(`/accounts/${opened.body.accountId}/balance?minPosition=${opened.body.position}`);
      expect(balance.status).toBe(200);
      const balanceWrite = (span: ReadableSpan) =>
        span.name === 'tidemark.projection.apply' && span.attributes['tidemark.projection'] === 'shop.account_balances';
      await waitFor(() => recorder.spans().some(balanceWrite), 'the balance projection write traced');

      const spans = recorder.spans().filter((span) => span.spanContext().traceId === remoteTraceId);
      const byId = new Map(spans.map((span) => [span.spanContext().spanId, span]));
      const parentOf = (span: ReadableSpan | undefined) => byId.get(span?.parentSpanContext?.spanId ?? '');
      const request = spans.find((span) => span.name === 'POST /accounts');
      expect(request?.parentSpanContext?.spanId).toBe(remoteSpanId);
      expect(request?.attributes).toMatchObject({ 'http.response.status_code': 201, 'tidemark.correlation_id': 'corr-trace-1' });
      // read-model write → projector batch → append → command → request, all in the caller's trace.
      const write = spans.find(balanceWrite);
      const batch = parentOf(write);
      const append = parentOf(batch);
      const command = parentOf(append);
      expect([batch?.name, append?.name, command?.name]).toEqual(['tidemark.projector.batch', 'tidemark.append', 'tidemark.command']);
      expect(parentOf(command)).toBe(request);

      const history = await client.get(`/accounts/${opened.body.accountId}/history`);
      expect(history.body.events[0].metadata).toMatchObject({
        correlationId: 'corr-trace-1',
        traceparent: expect.stringContaining(remoteTraceId),
      });
      const requestLogs = lines.map((line) => JSON.parse(line)).filter((entry) => entry.correlationId === 'corr-trace-1');
      // One line per request, with the request and the response in it.
      const completed = requestLogs.filter((entry) => entry.msg === 'request completed');
      expect(completed).toContainEqual(
        expect.objectContaining({ req: expect.objectContaining({ method: 'POST', url: '/accounts' }), res: { statusCode: 201 } }),
      );
      expect(requestLogs.map((entry) => entry.msg)).not.toContain('incoming request');
    } finally {
      await shop.close();
    }
  });
});
