import {
  createEventRegistry,
  createInMemoryTransport,
  createMessageMapper,
  createOutboxRelay,
  createProjector,
  type DeliveredMessage,
  type Projection,
  rebuildProjection,
  registerInlineProjection,
  subscribe,
} from '@tidemark/core';
import { waitFor } from '@tidemark/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { createSqliteCheckpointStore, createSqliteEventStore, createSqliteTableSwap, type SqliteTransaction } from '../src/index.js';
import { tempSqliteFiles } from './tempSqliteFiles.js';

const files = tempSqliteFiles('tidemark-stages-');
afterAll(() => files.remove());

/** order.created v1 → v2 (currency) → v3 (amount in cents): a two-step chain. */
const registry = () =>
  createEventRegistry().event('order.created', {
    versions: { 1: null, 2: null, 3: null },
    upcasters: {
      1: (data: { total: number }) => ({ ...data, currency: 'USD' }),
      2: ({ total, ...rest }: { total: number; currency: string }) => ({ ...rest, cents: total * 100 }),
    },
  });

function currencies(tables: string): Projection<SqliteTransaction> {
  return {
    name: tables,
    tables: [tables],
    async setup(tx, names) {
      await tx.sql.execute(
        `CREATE TABLE IF NOT EXISTS ${names.name(tables)} (stream_id TEXT PRIMARY KEY, currency TEXT NOT NULL, cents INTEGER NOT NULL)`,
      );
    },
    async apply(events, tx, names) {
      for (const event of events) {
        const data = event.data as { currency: string; cents: number };
        await tx.sql.execute(`INSERT INTO ${names.name(tables)} (stream_id, currency, cents) VALUES ($1, $2, $3)`, [
          event.streamId,
          data.currency,
          data.cents,
        ]);
      }
    },
  };
}

/** A file holding v1 events written the old way (a store without stages), reopened by code with the registry. */
async function fileWithV1Events(count: number): Promise<string> {
  const file = files.next();
  const old = createSqliteEventStore({ file });
  for (let i = 1; i <= count; i++) await old.appendToStream(`order-${i}`, [{ type: 'order.created', data: { total: i } }]);
  await old.close();
  return file;
}

describe('stages on every read path built on the SQLite store', () => {
  it('subscriptions, projectors, inline projections, rebuilds and the log relay all see upcast events', async () => {
    const store = createSqliteEventStore({ file: await fileWithV1Events(3), stages: [registry().stage] });
    const checkpoints = createSqliteCheckpointStore();
    const transport = createInMemoryTransport();
    const received: DeliveredMessage[] = [];
    const consumer = await transport.consume({ group: 'test', types: ['shop.order.created'], startFrom: { kind: 'all' } }, async (m) => {
      received.push(m);
    });
    const relay = createOutboxRelay({
      name: 'orders',
      store,
      transport,
      source: {
        kind: 'log',
        checkpoints,
        mapper: createMessageMapper({ 'order.created': { type: 'shop.order.created', data: (event) => event.data } }),
      },
    });
    const projector = createProjector({ store, projection: currencies('async_orders'), checkpoints, pollIntervalMs: 60_000 });
    try {
      await registerInlineProjection(store, currencies('inline_orders'));
      const last = await store.appendToStream('order-4', [{ type: 'order.created', schemaVersion: 1, data: { total: 4 } }]);

      const controller = new AbortController();
      const seen: unknown[] = [];
      for await (const batch of subscribe(store, { signal: controller.signal })) {
        seen.push(...batch.events.map((event) => [event.schemaVersion, event.data]));
        if (batch.caughtUp) controller.abort();
      }
      expect(seen).toEqual([1, 2, 3, 4].map((n) => [3, { currency: 'USD', cents: n * 100 }]));

      await projector.start();
      expect(await projector.waitForPosition(last.position, { timeoutMs: 5000 })).toBe(true);
      await rebuildProjection({ store, projection: currencies('async_orders'), checkpoints, swap: createSqliteTableSwap() });
      const rows = (table: string) =>
        store.transaction((tx) =>
          tx.sql.query<{ stream_id: string; currency: string; cents: number }>(`SELECT * FROM ${table} ORDER BY stream_id`),
        );
      expect(await rows('async_orders')).toEqual([1, 2, 3, 4].map((n) => ({ stream_id: `order-${n}`, currency: 'USD', cents: n * 100 })));
      // Inline: only the append made after it was registered.
      expect(await rows('inline_orders')).toEqual([{ stream_id: 'order-4', currency: 'USD', cents: 400 }]);

      await relay.start();
      await waitFor(() => received.length === 4, 'four relayed messages');
      expect(received.map((m) => m.data)).toEqual([1, 2, 3, 4].map((n) => ({ currency: 'USD', cents: n * 100 })));
    } finally {
      await relay.stop();
      await projector.stop();
      await consumer.stop();
      await transport.close();
      await store.close();
    }
  });
});
