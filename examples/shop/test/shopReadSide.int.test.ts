import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readSideScenario } from './support/readSideScenario.js';
import { startShop } from './support/startShop.js';

describe('the shop read side over HTTP (SQLite file)', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  const started = async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'shop-read-side-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const running = await startShop({ config: { dataDir } });
    cleanups.push(() => running.shop.close());
    return running;
  };

  it('lists orders per customer, sums them per day, reads its own writes and reports the projections', async () => {
    await readSideScenario(await started());
  });

  it.each([
    ['/customers/c1/orders?page=0', 'page'],
    ['/customers/c1/orders?page=x', 'page'],
    ['/customers/c1/orders?pageSize=101', 'pageSize'],
    ['/customers/c1/orders?minPosition=-1', 'minPosition'],
    // A list waits for its projector: past the top it would wait out the timeout for nothing.
    ['/customers/c1/orders?minPosition=9223372036854775808', 'minPosition'],
    ['/analytics/daily-orders?minPosition=18446744073709551616', 'minPosition'],
    ['/customers/bad%20id/orders', 'customerId'],
    ['/analytics/daily-orders?from=2025-02-30', 'from'],
    ['/analytics/daily-orders?from=yesterday', 'from'],
    ['/analytics/daily-orders?from=2025-03-02&to=2025-03-01', 'from'],
    ['/analytics/daily-orders?from=2020-01-01&to=2025-01-01', 'from'],
    ['/accounts/a1/balance?minPosition=1.5', 'minPosition'],
    // Past PostgreSQL's bigint: no store can hold such a position (past 2^53 is fine, as tested below).
    ['/accounts/a1/balance?minPosition=9223372036854775808', 'minPosition'],
    ['/accounts/a1/balance?minPosition=0x10', 'minPosition'],
  ])('answers %s with a 400 naming %s', async (path, field) => {
    const { client } = await started();
    const reply = await client.get(path);
    expect(reply.status).toBe(400);
    expect(reply.body.error).toMatchObject({ code: 'validation' });
    expect(reply.body.error.details.issues[0].path).toBe(field);
  });

  it('keeps the default window of daily-orders within days a YYYY-MM-DD can name', async () => {
    const { client } = await started();
    // 29 days before 0000-01-10 is in year -1: it was answered as from "-000001-12", no day at all.
    const early = await client.get('/analytics/daily-orders?to=0000-01-10');
    expect(early.status, JSON.stringify(early.body)).toBe(200);
    expect(early.body).toMatchObject({ from: '0000-01-01', to: '0000-01-10', days: [] });
    const usual = await client.get('/analytics/daily-orders?to=2025-03-31');
    expect(usual.body).toMatchObject({ from: '2025-03-02', to: '2025-03-31' });
  });

  it('answers a bad x-min-position header with a 400 and an unknown account with a 404', async () => {
    const { client } = await started();
    const bad = await client.get('/accounts/a1/balance', { 'x-min-position': 'soon' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.issues[0].path).toBe('x-min-position');
    const pastTheTop = await client.get('/customers/c1/orders', { 'x-min-position': '9223372036854775808' });
    expect(pastTheTop.status).toBe(400);
    expect(pastTheTop.body.error).toMatchObject({ code: 'validation', details: { issues: [{ path: 'x-min-position' }] } });
    const missing = await client.get('/accounts/nobody/balance?minPosition=0');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('not_found');
    // A position past 2^53 (PostgreSQL's on an old cluster) is a position, not a bad request.
    const large = await client.get('/accounts/nobody/balance', { 'x-min-position': '9007199254740993' });
    expect(large.status).toBe(404);
  });
});
