import {
  createCryptoShredding,
  createInMemoryTransport,
  createOutboxRelay,
  type DeliveredMessage,
  type OutgoingMessage,
  redactedMarker,
  redactOutbox,
} from '@tidemark/core';
import { serviceAvailable, waitFor } from '@tidemark/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { createPostgresKeyStore, createPostgresOutbox, quoteIdentifier } from '../src/index.js';
import { createStoreFactory } from './testSchemas.js';

const available = await serviceAvailable('postgres');

const email = 'zebulon.quartermaine@example.org';
const otherEmail = 'ada.lovelace@example.org';

const welcome = (id: string, customerId: string, to: string): OutgoingMessage => ({
  id,
  type: 'shop.welcome.mail',
  schemaVersion: 1,
  key: `customer-${customerId}`,
  data: { customerId, to },
});

describe.skipIf(!available)('forgetting a subject with messages in the PostgreSQL table outbox', () => {
  const stores = createStoreFactory();
  afterAll(() => stores.cleanup());

  it('leaves no plaintext in tidemark_outbox (pending or published rows), and the relay publishes the waiting one redacted', async () => {
    const store = await stores.create();
    const keyStore = createPostgresKeyStore({ pool: store.pool, schema: store.schema });
    const outbox = createPostgresOutbox();
    const shredding = createCryptoShredding({
      keyStore,
      personalData: { 'customer.registered': { subject: (data: { customerId: string }) => data.customerId, fields: ['email'] } },
      personalMessages: { 'shop.welcome.mail': { subject: (data: { customerId: string }) => data.customerId, fields: ['to'] } },
    });
    shredding.attachStore(store);
    const changed: number[] = [];
    shredding.onForgotten(async (forgotten) => {
      changed.push(await store.transaction((tx) => redactOutbox(outbox, tx, forgotten, shredding)));
    });
    const transport = createInMemoryTransport();
    const received: DeliveredMessage[] = [];
    const consumer = await transport.consume({ group: 'mailer', types: ['shop.welcome.mail'], startFrom: { kind: 'all' } }, async (m) => {
      received.push(m);
    });
    const relay = () => createOutboxRelay({ name: 'mails', store, transport, source: { kind: 'table', outbox } });
    const outboxRows = async () =>
      (
        await store.pool.query<{ row: string }>(
          `SELECT t::text AS row FROM ${quoteIdentifier(store.schema)}.tidemark_outbox t ORDER BY sequence`,
        )
      ).rows
        .map((row) => row.row)
        .join('\n');
    try {
      await store.appendToStream(
        'customer-z',
        await shredding.stage.write!([{ type: 'customer.registered', data: { customerId: 'cust-z', email } }], 'customer-z'),
      );
      await store.transaction((tx) => outbox.add(tx, [welcome('m-1', 'cust-z', email)]));
      const first = relay();
      await first.start();
      await waitFor(() => received.length === 1, 'the first message to be published', 5_000);
      await first.stop();
      await store.transaction((tx) => outbox.add(tx, [welcome('m-2', 'cust-z', email), welcome('m-3', 'cust-a', otherEmail)]));
      expect(await outboxRows()).toContain(email);

      await shredding.forget('cust-z');
      await shredding.forget('cust-z');
      expect(changed).toEqual([2, 0]);

      const after = await outboxRows();
      expect(after).not.toContain(email);
      expect(after).toContain(otherEmail);
      const { rows } = await store.pool.query<{ message_id: string; data: unknown; published: boolean }>(
        `SELECT message_id, data, published_at IS NOT NULL AS published FROM ${quoteIdentifier(store.schema)}.tidemark_outbox ORDER BY sequence`,
      );
      expect(rows).toEqual([
        { message_id: 'm-1', data: { customerId: 'cust-z', to: redactedMarker }, published: true },
        { message_id: 'm-2', data: { customerId: 'cust-z', to: redactedMarker }, published: false },
        { message_id: 'm-3', data: { customerId: 'cust-a', to: otherEmail }, published: false },
      ]);

      const second = relay();
      await second.start();
      await waitFor(() => received.length === 3, 'the waiting messages to be published', 5_000);
      await second.stop();
      expect(received.map((m) => [m.id, m.data])).toEqual([
        ['m-1', { customerId: 'cust-z', to: email }],
        ['m-2', { customerId: 'cust-z', to: redactedMarker }],
        ['m-3', { customerId: 'cust-a', to: otherEmail }],
      ]);
    } finally {
      await consumer.stop();
      await transport.close();
    }
  });
});
