import { randomBytes } from 'node:crypto';
import {
  createInMemoryCheckpointStore,
  createInMemoryEventStore,
  createProjector,
  type InMemoryTransaction,
  type Projection,
} from '@tidemark/core';
import { createPostgresCheckpointStore, createPostgresEventStore, type PostgresTransaction } from '@tidemark/postgres';
import { serviceAvailable, serviceUrls, waitFor } from '@tidemark/testing';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createProjectionOverview } from '../src/projectionOverview.js';

const available = await serviceAvailable('postgres');

describe('the projections view and the readable horizon', () => {
  it.skipIf(!available)(
    'counts the events a transaction open elsewhere on the server holds back',
    async () => {
      const schema = `tm_dash_horizon_${randomBytes(4).toString('hex')}`;
      const store = await createPostgresEventStore({ url: serviceUrls.postgres, schema, createSchema: true });
      const writer = await createPostgresEventStore({ url: serviceUrls.postgres, schema });
      const checkpoints = createPostgresCheckpointStore();
      const projection: Projection<PostgresTransaction> = { name: 'noop', async apply() {} };
      const projector = createProjector({ store, projection, checkpoints });
      const holder = new pg.Client({ connectionString: serviceUrls.postgres, application_name: 'tm-test-dashboard-horizon' });
      await holder.connect();
      try {
        let readable = 0n;
        for (let i = 0; i < 2; i++)
          readable = (await writer.appendToStream(`account-${i}`, [{ type: 'account.opened', data: {} }])).position;
        await projector.start();
        expect(await projector.waitForPosition(readable, { timeoutMs: 30_000 })).toBe(true);
        await holder.query('BEGIN');
        await holder.query('SELECT txid_current()');
        for (let i = 0; i < 3; i++) await writer.appendToStream(`account-${i}`, [{ type: 'account.deposited', data: {} }]);
        await waitFor(async () => (await store.visibilityLag()).invisibleEvents >= 3, 'the three events to be committed but unreadable');

        const overview = createProjectionOverview({ store, checkpoints, projectors: [projector], projections: [projection] });
        const [view] = await overview();
        // Before: events 0, seconds 0 — a projector stalled behind the horizon looked caught up.
        expect(view).toMatchObject({ name: 'noop', state: 'running', checkpoint: readable, lag: { head: readable } });
        expect(view?.lag?.invisibleEvents).toBeGreaterThanOrEqual(3);
        expect(view?.lag?.events).toBeGreaterThanOrEqual(3);
        expect(view?.lag?.horizonAgeSeconds).toBeGreaterThan(0);
      } finally {
        await holder.query('ROLLBACK').catch(() => {});
        await holder.end();
        await projector.stop();
        await writer.close();
        await store.close();
        const admin = new pg.Client({ connectionString: serviceUrls.postgres });
        await admin.connect();
        await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await admin.end();
      }
    },
    60_000,
  );

  it('adds no horizon figures for a store without one', async () => {
    const store = createInMemoryEventStore();
    const checkpoints = createInMemoryCheckpointStore();
    const projection: Projection<InMemoryTransaction> = { name: 'noop', async apply() {} };
    const projector = createProjector({ store, projection, checkpoints });
    try {
      const { position } = await store.appendToStream('account-1', [{ type: 'account.opened', data: {} }]);
      await projector.start();
      expect(await projector.waitForPosition(position)).toBe(true);
      const views = await createProjectionOverview({ store, checkpoints, projectors: [projector], projections: [projection] })();
      expect(views).toHaveLength(1);
      expect(views[0]?.lag).toEqual({ events: 0, exact: true, seconds: 0, head: position });
    } finally {
      await projector.stop();
    }
  });
});
