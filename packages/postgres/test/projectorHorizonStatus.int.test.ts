import { createProjector, type Projection } from '@tidemark/core';
import { serviceAvailable, serviceUrls, waitFor } from '@tidemark/testing';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createPostgresCheckpointStore, type PostgresTransaction } from '../src/index.js';
import { createStoreFactory } from './testSchemas.js';

const available = await serviceAvailable('postgres');

const noop: Projection<PostgresTransaction> = { name: 'noop', async apply() {} };

describe.skipIf(!available)('projector status behind a transaction open elsewhere on the server', () => {
  const stores = createStoreFactory();
  afterEach(() => stores.cleanup());

  it('shows the committed events the readable horizon holds back, not a caught-up projector', async () => {
    const store = await stores.create();
    // Appends from another process, as it were: the projector's store has no own writes to wait for.
    const writer = await stores.create({ schema: store.schema });
    // Any session holding a transaction id keeps every later commit unreadable, whatever it touches.
    const holder = new pg.Client({ connectionString: serviceUrls.postgres, application_name: 'tm-test-horizon-status' });
    await holder.connect();
    const projector = createProjector({ store, projection: noop, checkpoints: createPostgresCheckpointStore(), visibilityIntervalMs: 50 });
    try {
      let readable = 0n;
      for (let i = 0; i < 3; i++)
        readable = (await writer.appendToStream(`account-${i}`, [{ type: 'account.deposited', data: {} }])).position;
      await projector.start();
      // The server's horizon is shared with whatever else runs on it: allow it to be held a while.
      expect(await projector.waitForPosition(readable, { timeoutMs: 30_000 })).toBe(true);
      await waitFor(() => projector.status().invisibleEvents !== undefined, 'the first visibility sample');

      await holder.query('BEGIN');
      await holder.query('SELECT txid_current()');
      let committed = 0n;
      for (let i = 0; i < 4; i++)
        committed = (await writer.appendToStream(`account-${i}`, [{ type: 'account.deposited', data: {} }])).position;
      await waitFor(async () => (await store.visibilityLag()).invisibleEvents >= 4, 'the four events to be committed but unreadable');
      await waitFor(() => (projector.status().invisibleEvents ?? 0) >= 4, 'status to show the held-back events', 10_000);
      const status = projector.status();
      // Before: this was all status() said — checkpoint == headPosition, running — with four
      // committed events waiting behind the open transaction.
      expect(status).toMatchObject({ state: 'running', checkpoint: readable, headPosition: readable });
      expect(status.horizonAgeSeconds).toBeGreaterThan(0);
      expect(status.oldestInvisibleRecordedAt).toBeInstanceOf(Date);
      expect(await projector.waitForPosition(committed, { timeoutMs: 200 })).toBe(false);

      await holder.query('ROLLBACK');
      expect(await projector.waitForPosition(committed, { timeoutMs: 45_000 })).toBe(true);
      // Every event of this schema is read: the next sample finds none of them held back.
      await waitFor(() => projector.status().invisibleEvents === 0, 'status to show nothing held back', 10_000);
      expect(projector.status()).toMatchObject({ checkpoint: committed, headPosition: committed });
    } finally {
      await holder.query('ROLLBACK').catch(() => {});
      await holder.end();
      await projector.stop();
    }
    expect(projector.status().invisibleEvents).toBeUndefined();
  }, 120_000);
});
