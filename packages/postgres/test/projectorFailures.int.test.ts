import { createProjector, listFailedEvents, type Projection, retryFailedEvent, skipFailedEvent } from '@tidemark/core';
import { serviceAvailable, waitFor } from '@tidemark/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { createPostgresCheckpointStore, type PostgresEventStore, type PostgresTransaction } from '../src/index.js';
import { createStoreFactory } from './testSchemas.js';

const available = await serviceAvailable('postgres');

/** Sums amounts per stream; throws `new Error('bad\u0000')` on events whose data says so, while `poisoned` is set. */
function sums(store: PostgresEventStore, state: { poisoned: boolean }): Projection<PostgresTransaction> {
  const table = `"${store.schema}".sums`;
  return {
    name: 'sums',
    async setup(tx) {
      await tx.sql.execute(`CREATE TABLE IF NOT EXISTS ${table} (stream_id text PRIMARY KEY, total bigint NOT NULL)`);
    },
    async apply(events, tx) {
      for (const event of events) {
        const data = event.data as { amount: number; poison?: boolean };
        if (data.poison && state.poisoned) throw new Error('bad\u0000 \ud800');
        await tx.sql.execute(
          `INSERT INTO ${table} (stream_id, total) VALUES ($1, $2) ON CONFLICT (stream_id) DO UPDATE SET total = ${table}.total + excluded.total`,
          [event.streamId, data.amount],
        );
      }
    },
  };
}

async function total(store: PostgresEventStore, streamId: string): Promise<number> {
  const { rows } = await store.pool.query(`SELECT total FROM "${store.schema}".sums WHERE stream_id = $1`, [streamId]);
  return Number(rows[0]?.total ?? 0);
}

describe.skipIf(!available)('PostgreSQL projector on a handler error with NUL in its message', () => {
  const stores = createStoreFactory();
  afterAll(() => stores.cleanup());
  const retry = { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 5 };

  it('parks the event and goes on; retry applies it once the handler is fixed', async () => {
    const store = await stores.create();
    const checkpoints = createPostgresCheckpointStore();
    const state = { poisoned: true };
    const projection = sums(store, state);
    const projector = createProjector({ store, projection, checkpoints, onFailure: 'dead-letter', retry, pollIntervalMs: 50 });
    await store.appendToStream('a-1', [{ type: 'added', data: { amount: 1 } }]);
    const poison = await store.appendToStream('a-2', [{ type: 'added', data: { amount: 10, poison: true } }]);
    const last = await store.appendToStream('a-3', [{ type: 'added', data: { amount: 100 } }]);
    await projector.start();
    try {
      expect(await projector.waitForPosition(last.position, { timeoutMs: 15_000 })).toBe(true);
      expect(await total(store, 'a-3')).toBe(100);
      const [failed, ...others] = await listFailedEvents(store, checkpoints);
      expect(others).toEqual([]);
      expect(failed).toMatchObject({ projection: 'sums', status: 'parked', position: poison.position, streamId: 'a-2', attempts: 2 });
      expect(failed?.message).toBe('bad\\u0000 \ufffd');

      // A handler that still throws leaves the dead letter where it was.
      await expect(retryFailedEvent({ store, checkpoints, name: 'sums', position: poison.position, projection })).rejects.toThrow('bad');
      expect(await listFailedEvents(store, checkpoints, 'sums')).toHaveLength(1);
      state.poisoned = false;
      await retryFailedEvent({ store, checkpoints, name: 'sums', position: poison.position, projection });
      expect(await total(store, 'a-2')).toBe(10);
      expect(await listFailedEvents(store, checkpoints, 'sums')).toEqual([]);
    } finally {
      await projector.stop();
    }
  });

  it('records the failure of a halted projector; skip moves it past the event and it resumes after it', async () => {
    const store = await stores.create();
    const checkpoints = createPostgresCheckpointStore();
    const projection = sums(store, { poisoned: true });
    const options = { store, projection, checkpoints, retry, pollIntervalMs: 50 };
    await store.appendToStream('a-1', [{ type: 'added', data: { amount: 1 } }]);
    const poison = await store.appendToStream('a-2', [{ type: 'added', data: { amount: 10, poison: true } }]);
    const last = await store.appendToStream('a-3', [{ type: 'added', data: { amount: 100 } }]);
    const halted = createProjector(options);
    await halted.start();
    await waitFor(() => halted.status().state === 'failed', 'the projector to halt on the poison event', 15_000);
    await halted.stop();
    const [failed] = await listFailedEvents(store, checkpoints);
    expect(failed).toMatchObject({ status: 'failed', position: poison.position, message: 'bad\\u0000 \ufffd' });

    await skipFailedEvent({ store, checkpoints, name: 'sums', position: poison.position });
    expect(await listFailedEvents(store, checkpoints)).toEqual([]);
    const resumed = createProjector(options);
    await resumed.start();
    try {
      expect(await resumed.waitForPosition(last.position, { timeoutMs: 15_000 })).toBe(true);
      expect([await total(store, 'a-1'), await total(store, 'a-2'), await total(store, 'a-3')]).toEqual([1, 0, 100]);
    } finally {
      await resumed.stop();
    }
  });
});
