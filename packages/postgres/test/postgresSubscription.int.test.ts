import { randomBytes } from 'node:crypto';
import { type SubscriptionBatch, subscribe } from '@tidemark/core';
import { serviceAvailable, serviceUrls, waitFor } from '@tidemark/testing';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createPostgresEventStore } from '../src/index.js';

const available = await serviceAvailable('postgres');

describe.skipIf(!available)('subscribe on PostgreSQL', () => {
  it('catches up, then is woken by another instance’s append (LISTEN/NOTIFY), not by its poll interval', async () => {
    const schema = `sub_${randomBytes(5).toString('hex')}`;
    const reader = await createPostgresEventStore({ url: serviceUrls.postgres, schema, poolSize: 2, createSchema: true });
    const writer = await createPostgresEventStore({ url: serviceUrls.postgres, schema, poolSize: 2 });
    const controller = new AbortController();
    try {
      let written = 0n;
      for (let i = 0; i < 7; i++) {
        written = (await writer.appendToStream(`acc-${i}`, [{ type: 'test.amount.added', data: { amount: i } }])).position;
      }
      // Another instance's commits become readable once the server-wide horizon passes them: a
      // transaction elsewhere on a shared server (another test file) can hold them back a while.
      await waitFor(async () => (await reader.headPosition()) >= written, 'the seven events to be readable', 30_000);
      const batches: SubscriptionBatch[] = [];
      let resolveLive: () => void = () => {};
      const live = new Promise<void>((resolve) => {
        resolveLive = resolve;
      });
      let resolveCaughtUp: () => void = () => {};
      const caughtUp = new Promise<void>((resolve) => {
        resolveCaughtUp = resolve;
      });
      const iteration = (async () => {
        // A minute between polls: only a notification can deliver the live event within the test's time.
        for await (const batch of subscribe(reader, { batchSize: 3, pollIntervalMs: 60_000, signal: controller.signal })) {
          batches.push(batch);
          if (batch.caughtUp) resolveCaughtUp();
          if (batch.events.some((e) => e.streamId === 'live-1')) resolveLive();
        }
      })();
      await caughtUp;
      const { position } = await writer.appendToStream('live-1', [{ type: 'test.amount.added', data: { amount: 1 } }]);
      const woke = await Promise.race([live.then(() => true), new Promise((r) => setTimeout(() => r(false), 30_000))]); // generous: a transaction elsewhere on the server may hold the event back a while
      controller.abort();
      await iteration;
      expect(woke).toBe(true);
      const events = batches.flatMap((b) => b.events);
      expect(events.map((e) => e.streamId)).toEqual([...Array.from({ length: 7 }, (_, i) => `acc-${i}`), 'live-1']);
      expect(batches.slice(0, 3).map((b) => b.events.length)).toEqual([3, 3, 1]);
      // Sparse but strictly increasing positions; the last checkpoint covers the live event.
      for (let i = 1; i < events.length; i++) expect(events[i]?.position).toBeGreaterThan(events[i - 1]?.position as bigint);
      expect(batches.at(-1)?.checkpoint).toBeGreaterThanOrEqual(position);
    } finally {
      controller.abort();
      await reader.close();
      await writer.close();
      const admin = new pg.Pool({ connectionString: serviceUrls.postgres, max: 1 });
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    }
  });
});
