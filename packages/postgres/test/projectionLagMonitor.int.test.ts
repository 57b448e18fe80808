import { type Alert, createInMemoryMetrics, createProjectionLagMonitor, createProjector, type Projection } from '@tidemark/core';
import { serviceAvailable, serviceUrls } from '@tidemark/testing';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createPostgresCheckpointStore, type PostgresTransaction } from '../src/index.js';
import { createStoreFactory } from './testSchemas.js';

const available = await serviceAvailable('postgres');

describe.skipIf(!available)('projection lag on PostgreSQL (sparse positions)', () => {
  const stores = createStoreFactory();
  afterAll(() => stores.cleanup());

  it('counts the events after the checkpoint, not the gap between positions', async () => {
    const store = await stores.create();
    const projection: Projection<PostgresTransaction> = { name: 'noop', async apply() {} };
    const projector = createProjector({
      store,
      projection,
      checkpoints: createPostgresCheckpointStore(),
    });
    try {
      for (let i = 0; i < 3; i++) await store.appendToStream(`account-${i}`, [{ type: 'account.deposited', data: { amount: 1 } }]);
      await projector.start();
      expect(await projector.waitForPosition(await store.headPosition(), { timeoutMs: 10_000 })).toBe(true);
      await projector.stop();
      for (let i = 0; i < 5; i++) await store.appendToStream(`account-${i}`, [{ type: 'account.deposited', data: { amount: 1 } }]);
      const metrics = createInMemoryMetrics();
      const monitor = createProjectionLagMonitor({
        store,
        metrics,
        projections: [{ name: 'noop', checkpoint: async () => projector.status().checkpoint }],
      });
      const [lag] = await monitor.measure();
      // One transaction per append: positions jump by far more than one between them.
      expect((lag?.head ?? 0n) - (lag?.checkpoint ?? 0n)).toBeGreaterThan(5n);
      expect(lag).toMatchObject({ name: 'noop', eventsBehind: 5, exact: true });
      expect(lag?.secondsBehind).toBeGreaterThanOrEqual(0);
      expect(metrics.value('tidemark_projection_events_behind', { projection: 'noop' })).toBe(5);
    } finally {
      await projector.stop();
    }
  });
});

describe.skipIf(!available)('projection lag behind a long transaction elsewhere on the server', () => {
  const stores = createStoreFactory();
  afterAll(() => stores.cleanup());

  it('counts committed events the horizon hides, exposes the horizon age and alerts on it', async () => {
    const store = await stores.create();
    // Appends from another process, as it were: this store then has no own writes to wait for.
    const writer = await stores.create({ schema: store.schema });
    // Any session holding a transaction id keeps every later commit unreadable, whatever it touches.
    const holder = new pg.Client({ connectionString: serviceUrls.postgres, application_name: 'tm-test-horizon' });
    await holder.connect();
    const alerts: Alert[] = [];
    const metrics = createInMemoryMetrics();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT txid_current()');
      for (let i = 0; i < 4; i++) await writer.appendToStream(`account-${i}`, [{ type: 'account.deposited', data: { amount: 1 } }]);
      const monitor = createProjectionLagMonitor({
        store,
        metrics,
        projections: [{ name: 'balances', checkpoint: async () => 0n }],
        visibility: () => store.visibilityLag(),
        maxHorizonAgeSeconds: 0,
        onAlert: (alert) => alerts.push(alert),
      });
      const [lag] = await monitor.measure();
      // Before: 0 events behind, 0 s — the events are committed but no reader can see them.
      expect(lag?.invisibleEvents).toBeGreaterThanOrEqual(4);
      expect(lag?.eventsBehind).toBeGreaterThanOrEqual(4);
      expect(lag?.horizonAgeSeconds).toBeGreaterThan(0);
      expect(lag?.secondsBehind).toBeGreaterThanOrEqual(0);
      expect(metrics.value('tidemark_readable_horizon_age_seconds')).toBeGreaterThan(0);
      expect(metrics.value('tidemark_invisible_events')).toBeGreaterThanOrEqual(4);
      expect(alerts.map((alert) => alert.kind)).toContain('horizon');
    } finally {
      await holder.query('ROLLBACK').catch(() => {});
      await holder.end();
    }
  });
});
