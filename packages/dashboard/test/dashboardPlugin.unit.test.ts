import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createProjector, type DomainEvent, type Evolver, type Projection, type Projector } from '@tidemark/core';
import {
  createSqliteCheckpointStore,
  createSqliteEventBrowser,
  createSqliteEventStore,
  createSqliteTableSwap,
  type SqliteEventStore,
  type SqliteTransaction,
} from '@tidemark/sqlite';
import { createManualClock, type ManualClock, waitFor } from '@tidemark/testing';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dashboardPlugin } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'tidemark-dashboard-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const token = 'unit-test-token-0123456789';

/** Counts events per stream; throws on `test.poison` so that failures can be parked. */
const counts: Projection<SqliteTransaction> = {
  name: 'counts',
  tables: ['counts'],
  async setup(tx, tables) {
    await tx.sql.execute(`CREATE TABLE IF NOT EXISTS ${tables.name('counts')} (stream_id TEXT PRIMARY KEY, events INTEGER NOT NULL)`);
  },
  async apply(events, tx, tables) {
    const table = tables.name('counts');
    for (const event of events) {
      if (event.type === 'test.poison') throw new Error('poisoned');
      await tx.sql.execute(
        `INSERT INTO ${table} (stream_id, events) VALUES ($1, 1) ON CONFLICT (stream_id) DO UPDATE SET events = ${table}.events + 1`,
        [event.streamId],
      );
    }
  },
};

const tally: Evolver<DomainEvent, number> = {
  initialState: () => 0,
  evolve: (total, event) => total + ((event.data as { by?: number }).by ?? 0),
};

describe('the dashboard plugin', () => {
  let store: SqliteEventStore;
  let clock: ManualClock;
  let projector: Projector;
  let app: FastifyInstance;

  beforeEach(async () => {
    clock = createManualClock();
    store = createSqliteEventStore({ file: join(dir, `dashboard${n++}.db`), clock });
    const checkpoints = createSqliteCheckpointStore();
    projector = createProjector({
      store,
      projection: counts,
      checkpoints,
      onFailure: 'dead-letter',
      retry: { maxAttempts: 1, initialDelayMs: 1, maxDelayMs: 1 },
    });
    app = Fastify();
    await app.register(dashboardPlugin<SqliteTransaction>, {
      store,
      browser: createSqliteEventBrowser(store),
      checkpoints,
      projectors: [projector],
      projections: [counts],
      swap: createSqliteTableSwap(),
      deciders: [{ category: 'tally', evolver: tally }],
      token,
      healthIntervalMs: 50,
      prefix: '/ops',
    });
    await projector.start();
  });

  afterEach(async () => {
    await app.close();
    await projector.stop();
    await store.close();
  });

  const get = async (url: string) => {
    const reply = await app.inject(`/ops/api/${url}`);
    return { status: reply.statusCode, body: reply.json() };
  };
  const post = async (url: string, headers: Record<string, string> = {}) => {
    const reply = await app.inject({ method: 'POST', url: `/ops/api/${url}`, headers });
    return { status: reply.statusCode, body: reply.json(), headers: reply.headers };
  };
  const bearer = { authorization: `Bearer ${token}` };

  it('serves the log newest first with filters and keyset pages, and one event with its chain', async () => {
    for (let i = 1; i <= 5; i++) await store.appendToStream(`tally-${i % 2}`, [{ type: 'tally.added', data: { by: i } }]);
    const first = await get('events?limit=2');
    expect(first.body.events.map((e: { position: string }) => e.position)).toEqual(['5', '4']);
    const second = await get(`events?limit=2&cursor=${first.body.next}`);
    expect(second.body.events.map((e: { position: string }) => e.position)).toEqual(['3', '2']);
    expect((await get('events?stream=tally-1')).body.events).toHaveLength(3);
    const id = first.body.events[0].id;
    expect((await get(`events/${id}`)).body.event).toMatchObject({ id, streamId: 'tally-1', version: 3, data: { by: 5 } });
    expect((await get(`events/${id}/chain`)).body).toMatchObject({ causes: [], effects: [], correlated: [] });
    expect((await get('streams')).body.streams.map((s: { streamId: string }) => s.streamId)).toEqual(['tally-0', 'tally-1']);
  });

  it('answers bad input with 400 and unknown ids with 404, as JSON errors', async () => {
    expect(await get('events?limit=0')).toMatchObject({ status: 400, body: { error: { code: 'validation' } } });
    expect(await get('events?from=yesterday')).toMatchObject({ status: 400, body: { error: { code: 'validation' } } });
    // Days and times the calendar does not have are refused, not rolled over into the next ones.
    for (const time of [
      '2026-02-30',
      '2025-02-29T00:00:00Z',
      '2026-04-31T10:00Z',
      '2026-13-01',
      '2026-01-01T24:00:00Z',
      '2026-01-01T10:60Z',
      '2026-01-01T10:00+24:00',
    ]) {
      expect(await get(`events?from=${encodeURIComponent(time)}`)).toMatchObject({ status: 400, body: { error: { code: 'validation' } } });
      expect(await get(`streams/tally-a/state?asOf=${encodeURIComponent(time)}`)).toMatchObject({ status: 400 });
    }
    expect(await get(`events?from=${encodeURIComponent('2024-02-29T23:59:59.999+05:30')}`)).toMatchObject({ status: 200 });
    expect(await get('events?cursor=abc')).toMatchObject({ status: 400, body: { error: { code: 'validation' } } });
    expect(await get('events/0190c2a4-0000-7000-8000-0000000000ff')).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
    expect(await get('streams/other-1/state')).toMatchObject({ status: 404, body: { error: { details: { category: 'other' } } } });
  });

  it("folds a stream's state with its decider as of a version or a time", async () => {
    await store.appendToStream('tally-a', [{ type: 'tally.added', data: { by: 2 } }]);
    const firstAt = clock.now();
    clock.advance(60_000);
    await store.appendToStream('tally-a', [{ type: 'tally.added', data: { by: 40 } }]);
    expect((await get('streams/tally-a/state')).body).toMatchObject({ version: 2, exists: true, state: 42 });
    expect((await get('streams/tally-a/state?version=1')).body).toMatchObject({ version: 1, state: 2 });
    expect((await get(`streams/tally-a/state?asOf=${firstAt.toISOString()}`)).body).toMatchObject({ version: 1, state: 2 });
    expect(await get('streams/tally-a/state?version=1&asOf=2026-01-01T00:00:00Z')).toMatchObject({ status: 400 });
  });

  it('refuses actions without the token (401), with another token (403), and runs them with it', async () => {
    const refused = await post('projections/counts/rebuild');
    expect(refused.status).toBe(401);
    expect(refused.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(refused.body.error.code).toBe('unauthorized');
    expect((await post('projections/counts/rebuild', { authorization: 'Bearer wrong' })).status).toBe(403);
    expect((await post('projections/unknown/rebuild', bearer)).status).toBe(404);

    await store.appendToStream('tally-1', [{ type: 'tally.added', data: { by: 1 } }]);
    const started = await post('projections/counts/rebuild', bearer);
    expect(started.status).toBe(202);
    await waitFor(async () => (await get('projections/counts/rebuild')).body.rebuild.phase === 'done', 'the rebuild to finish');
    const [view] = (await get('projections')).body.projections;
    expect(view).toMatchObject({ name: 'counts', rebuildable: true, checkpoint: '1', lag: { events: 0 } });
  });

  it('lists a parked event with its projection, and retries or skips it with the token', async () => {
    await store.appendToStream('tally-1', [{ type: 'test.poison', data: {} }]);
    await store.appendToStream('tally-2', [{ type: 'test.poison', data: {} }]);
    await waitFor(async () => (await get('projections')).body.projections[0].failed.length === 2, 'both events to be parked');
    const [first, second] = (await get('projections')).body.projections[0].failed;
    expect(first).toMatchObject({ status: 'parked', position: '1', message: 'poisoned' });

    expect((await post(`projections/counts/failed/${first.position}/skip`)).status).toBe(401);
    expect((await post(`projections/counts/failed/${first.position}/skip`, bearer)).body.skipped).toMatchObject({ position: '1' });
    // Retrying applies the event again with the projection, which still throws: nothing changes.
    const retried = await post(`projections/counts/failed/${second.position}/retry`, bearer);
    expect(retried).toMatchObject({ status: 422, body: { error: { code: 'retry_failed', message: expect.stringContaining('poisoned') } } });
    expect((await get('projections')).body.projections[0].failed.map((f: { position: string }) => f.position)).toEqual(['2']);
    expect((await post('projections/counts/failed/99/skip', bearer)).status).toBe(404);
  });

  it('keeps health samples and streams them live', async () => {
    await waitFor(async () => (await get('health')).body.samples.length >= 2, 'two health samples');
    const [sample] = (await get('health')).body.samples;
    expect(sample).toMatchObject({ appendRate: 0, lagEvents: 0, consistencyRate: null });
    const page = await app.inject('/ops');
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.body).toContain('<base href="/ops/">');
    expect((await app.inject('/ops/assets/vendor/uPlot.esm.js')).statusCode).toBe(200);
    expect((await app.inject('/ops/assets/../package.json')).statusCode).toBe(404);
  });
});
