import { randomBytes } from 'node:crypto';
import { createPostgresEventStore } from '@tidemark/postgres';
import { serviceAvailable, serviceUrls } from '@tidemark/testing';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { readSideScenario } from './support/readSideScenario.js';
import { startShop } from './support/startShop.js';

const postgres = await serviceAvailable('postgres');
const redis = postgres && (await serviceAvailable('redis'));

describe.skipIf(!postgres)('the shop read side over HTTP on PostgreSQL', () => {
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** A shop on this run's own schema (dropped afterwards), as DATABASE_URL would start it. */
  async function started(options: { redisPrefix?: string } = {}) {
    const schema = `shop_${randomBytes(5).toString('hex')}`;
    cleanups.push(async () => {
      const admin = new pg.Client({ connectionString: serviceUrls.postgres });
      await admin.connect();
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    });
    const running = await startShop({
      config: {
        dataDir: '/nonexistent-not-used',
        database: { url: serviceUrls.postgres, schema },
        ...(options.redisPrefix && { redisUrl: serviceUrls.redis }),
      },
      ...(options.redisPrefix && { redisPrefix: options.redisPrefix }),
      // Generous: an unrelated transaction elsewhere on the shared server holds every reader back for its duration.
      readYourWritesTimeoutMs: 30_000,
    });
    cleanups.push(() => running.shop.close());
    return { ...running, schema };
  }

  it('keeps events, checkpoints and read models in the configured schema and serves the same read side', async () => {
    const running = await started();
    await readSideScenario(running);
    const tables = new pg.Client({ connectionString: serviceUrls.postgres });
    await tables.connect();
    try {
      const { rows } = await tables.query<{ table_name: string }>(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_name LIKE 'shop_%' ORDER BY table_name`,
        [running.schema],
      );
      expect(rows.map((r) => r.table_name)).toEqual([
        'shop_account_balances',
        'shop_daily_order_stats',
        'shop_forgotten_customers',
        'shop_mailbox',
        'shop_mailbox_customers',
        'shop_order_lines',
        'shop_order_list',
      ]);
    } finally {
      await tables.end();
    }
  }, 60_000);

  it('counts events a long transaction keeps unreadable as lag, and shows the horizon age on /projections and /metrics', async () => {
    const running = await started();
    const api = running.client;
    const writer = await createPostgresEventStore({ url: serviceUrls.postgres, schema: running.schema, poolSize: 1 });
    cleanups.push(() => writer.close());
    // Another session holding a transaction id: the readable horizon stops at it, cluster-wide.
    const holder = new pg.Client({ connectionString: serviceUrls.postgres, application_name: 'tm-test-horizon' });
    await holder.connect();
    cleanups.push(() => holder.end());
    await holder.query('BEGIN');
    await holder.query('SELECT txid_current()');
    try {
      // Written by another instance of the shop, as it were (this one would wait for its own writes first).
      await writer.appendToStream('horizonTest-1', [{ type: 'test.horizon.marked', data: {} }]);
      const projections = await api.get('/projections');
      expect(projections.body.readableHorizon.invisibleEvents).toBeGreaterThanOrEqual(1);
      expect(projections.body.readableHorizon.ageSeconds).toBeGreaterThan(0);
      const balances = projections.body.projections.find((p: { name: string }) => p.name === 'shop.order_list');
      // Before: 0 events and 0 s of lag while read-your-writes timed out.
      expect(balances.lag.events).toBeGreaterThanOrEqual(1);
      expect(balances.lag.invisibleEvents).toBeGreaterThanOrEqual(1);
      const metrics = await fetch(`${running.url}/metrics`).then((response) => response.text());
      const age = /^tidemark_readable_horizon_age_seconds (\S+)$/m.exec(metrics);
      expect(Number(age?.[1])).toBeGreaterThan(0);
      expect(metrics).toMatch(/^tidemark_invisible_events [1-9]/m);
    } finally {
      await holder.query('ROLLBACK');
    }
  }, 60_000);

  it.skipIf(!redis)(
    'answers balances from Redis, and never serves a cached balance older than the caller’s write',
    async () => {
      const prefix = `test:${randomBytes(5).toString('hex')}:`;
      const client = new Redis(serviceUrls.redis);
      cleanups.push(async () => {
        const keys = await client.keys(`${prefix}*`);
        if (keys.length > 0) await client.del(...keys);
        client.disconnect();
      });
      const running = await started({ redisPrefix: prefix });
      const cache = running.shop.accountCache;
      if (!cache) throw new Error('REDIS_URL given, but the shop has no account cache');
      const api = running.client;

      const opened = await api.post('/accounts', { accountId: 'r1', owner: 'dora', initialDeposit: 500 });
      const first = await api.get(`/accounts/r1/balance?minPosition=${opened.body.position}`);
      expect(first.body).toMatchObject({ balance: 500, version: 1, source: 'read-model' });
      expect(await client.keys(`${prefix}*`)).toContain(`${prefix}{r1}:v`);
      const hitsBefore = cache.stats().hits;
      expect((await api.get('/accounts/r1/balance')).body).toMatchObject({ balance: 500, source: 'read-model' });
      expect(cache.stats().hits).toBe(hitsBefore + 1);

      // The deposit's read must see it at once, whether or not the projector's invalidation has reached Redis yet…
      const deposited = await api.post('/accounts/r1/deposits', { amount: 250 });
      const after = await api.get('/accounts/r1/balance', { 'x-min-position': String(deposited.body.position) });
      expect(after.body).toMatchObject({ balance: 750, version: 2, source: 'read-model' });
      // …and the invalidation does reach it: plain reads move on long before the 60 s TTL.
      const deadline = Date.now() + 5000;
      let plain = await api.get('/accounts/r1/balance');
      while (plain.body.balance !== 750 && Date.now() < deadline) plain = await api.get('/accounts/r1/balance');
      expect(plain.body).toMatchObject({ balance: 750, version: 2 });
      expect(cache.stats().cacheErrors).toBe(0);

      // Projector stopped: the cache cannot answer for a write it never saw; the events do.
      await running.shop.readModels.stop();
      const late = await api.post('/accounts/r1/withdrawals', { amount: 50 });
      expect((await api.get(`/accounts/r1/balance?minPosition=${late.body.position}`)).body).toMatchObject({
        balance: 700,
        version: 3,
        source: 'events',
      });
    },
    60_000,
  );
});
