import { createInMemoryMetrics, createProjectionLagMonitor, createProjector, type Projection } from '@tidemark/core';
import { serviceAvailable } from '@tidemark/testing';
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
      expect((lag?.head ?? 0) - (lag?.checkpoint ?? 0)).toBeGreaterThan(5);
      expect(lag).toMatchObject({ name: 'noop', eventsBehind: 5, exact: true });
      expect(lag?.secondsBehind).toBeGreaterThanOrEqual(0);
      expect(metrics.value('tidemark_projection_events_behind', { projection: 'noop' })).toBe(5);
    } finally {
      await projector.stop();
    }
  });
});
